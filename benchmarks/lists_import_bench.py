"""10,000-row Have-list import, end to end (bytes in → committed rows), on the
database named by --database-url (default: a fresh SQLite file).

    .venv/bin/python benchmarks/lists_import_bench.py [--database-url URL] [--rows N]

Creates its own synthetic pins (is_synthetic=True) and a throwaway collector, times
a first import (all inserts), a re-import of the export (all updates), and the
export, then removes what it created. Prints figures; it is not a timed test.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete, func, insert, select

from marketplace import create_app
from marketplace.accounts.models import User
from marketplace.catalogue.models import Pin
from marketplace.config import Settings
from marketplace.core.extensions import db
from marketplace.lists import csv_import as lists_csv
from marketplace.lists.models import Condition, Have

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="znachki-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    settings = Settings.from_env(
        {"ZNACHKI_ENV": "testing", "DATABASE_URL": url, "BROKER_DIR": str(tmp / "broker")}
    )
    app = create_app(settings, OUTBOX_RELAY=False)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        session = db.session()
        prefix = f"BENCH{random.randrange(10**6):06d}-"
        session.execute(
            insert(Pin),
            [
                {"ref": f"{prefix}{i}", "variant_group": f"{prefix}{i}", "title_en": f"Bench {i}",
                 "search_title": f"bench {i}", "search_body": "", "is_synthetic": True}
                for i in range(args.rows)
            ],
        )  # fmt: skip
        user = User(
            email=f"{prefix.lower()}@bench.invalid",
            display_name="bench",
            password_hash="!",  # noqa: S106 - no login
        )
        session.add(user)
        session.commit()
        rng = random.Random(7)
        conditions = [c.label for c in Condition]
        lines = ["ref;quantity;condition;tradeable;price;currency;notes"]
        for i in range(args.rows):
            price = f"{rng.randrange(100, 99999) / 100:.2f}" if i % 3 == 0 else ""
            lines.append(
                f"{prefix.lower()}{i};{rng.randrange(1, 9)};{rng.choice(conditions)};да;"
                f"{price};{'RUB' if price else ''};заметка {i}"
            )
        data = ("\r\n".join(lines) + "\r\n").encode("cp1251")

        def timed(label: str, kind_data: bytes) -> None:
            start = time.perf_counter()
            result = lists_csv.import_bytes(db.session(), user, "haves", kind_data)
            db.session.commit()
            elapsed = time.perf_counter() - start
            assert result.applied and result.ok, result.errors[:5]
            print(
                f"{label:<28} {elapsed:6.2f} s  ({result.created} created, {result.updated} "
                f"updated, {result.encoding}, delimiter {result.delimiter!r})"
            )

        dialect = db.engine.dialect.name
        print(f"database: {dialect}; {args.rows} rows; {len(data) / 1e6:.1f} MB CSV")
        timed("import (new entries)", data)
        start = time.perf_counter()
        exported = lists_csv.export_csv(db.session(), user.id, "haves")
        print(f"{'export':<28} {time.perf_counter() - start:6.2f} s")
        timed("re-import of the export", exported.encode("utf-8"))
        count = db.session.scalar(select(func.count(Have.id)).where(Have.user_id == user.id))
        assert count == args.rows, count
        db.session.execute(delete(User).where(User.id == user.id))
        db.session.execute(delete(Pin).where(Pin.ref.startswith(prefix)))
        db.session.commit()
    app.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main()
