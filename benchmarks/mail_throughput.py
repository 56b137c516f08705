"""Match emails end to end, with the details real ones carry: N collectors each
have a new swap (one in five two swaps, mailed together) with a counterpart
whose Haves fill their Wants and whose Wants their Haves take, 1–3 catalogue
pins each way with conditions, wanted stars and prices, in Russian or English.
The outbox hands `notify_collector` events to real Celery worker processes (two
by default), which record the notifications, render the mail from the real
templates and queue it; delivery sends it to a local SMTP server (aiosmtpd).

The SMTP sink checks every message: one per collector (no message lost, none
twice, by recipient and by Message-ID), the recipient's own counterpart and pins
in the text, and one-click unsubscribe headers naming the recipient. Prints the
throughput from the first event published to the last message received.

    python benchmarks/mail_throughput.py --redis-url redis://127.0.0.1:6379/5 \\
        [--database-url postgresql+psycopg://…] [--messages 10000] [--workers 2]

Without --database-url a fresh SQLite file is used. The database is migrated; its
users, lists, matches and mail are replaced (use a scratch database).
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, insert, select  # noqa: E402

from tests.support.smtp_server import SmtpServer  # noqa: E402

PINS = 600  # catalogue pins the lists are drawn from
FIRST = ["Ирина", "Павел", "Олег", "Марина", "Sergei", "Tanya", "Алексей", "Jüri", "Оксана"]
LAST = ["Соколова", "Кузнецов", "Tamm", "Петренко", "Иванов", "Brown", "Лебедева"]


def populate(session: Any, messages: int, seed: int = 7) -> dict[str, dict[str, Any]]:
    """Collectors, counterparts, their Haves and Wants and the swaps between them.
    Returns what each collector's mail must say: address → expected content."""
    from benchmarks import catalogue_gen
    from marketplace.accounts.models import User
    from marketplace.catalogue.models import Pin
    from marketplace.catalogue.titles import titles_in
    from marketplace.core.models import utcnow
    from marketplace.lists.models import Have, Want
    from marketplace.matches.models import Match, MatchItem

    rng = random.Random(seed)
    now = utcnow()
    if (session.scalar(select(func.count(Pin.id))) or 0) < PINS:
        catalogue_gen.load(session, PINS)
        print(file=sys.stderr)
    pins = list(session.execute(select(Pin.id, Pin.title_en).order_by(Pin.id).limit(PINS)))
    partners_n = max(2, messages // 20)
    users = [
        {"email": f"bench{i}@example.org", "display_name": f"Collector {i}",
         "password_hash": "-", "email_verified_at": now, "locale": "ru" if i % 3 else "en",
         "timezone": "UTC", "is_moderator": False, "created_at": now}
        for i in range(1, messages + 1)
    ] + [
        {"email": f"benchpartner{i}@example.org",
         "display_name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}",
         "password_hash": "-", "email_verified_at": now, "locale": "ru",
         "timezone": "Europe/Moscow", "is_moderator": False, "created_at": now}
        for i in range(partners_n)
    ]  # fmt: skip
    for start in range(0, len(users), 2000):
        session.execute(insert(User), users[start : start + 2000])
    people = dict(
        session.execute(select(User.email, User.id).where(User.email.like("bench%"))).all()
    )
    names = dict(session.execute(select(User.id, User.display_name)).all())
    russian = set(session.scalars(select(User.id).where(User.locale == "ru")))
    collectors = [people[f"bench{i}@example.org"] for i in range(1, messages + 1)]
    partners = [people[f"benchpartner{i}@example.org"] for i in range(partners_n)]

    # Each counterpart has 40 pins to trade and wants 40 others.
    half = len(pins) // 2
    partner_haves: dict[int, list[int]] = {}
    partner_wants: dict[int, list[int]] = {}
    for p in partners:
        partner_haves[p] = rng.sample(range(half), 40)
        partner_wants[p] = rng.sample(range(half, len(pins)), 40)

    def have(user: int, pin: int) -> dict[str, Any]:
        priced = rng.random() < 0.2
        return {"user_id": user, "pin_id": pins[pin][0], "quantity": rng.choice([1, 1, 2]),
                "condition": rng.randint(2, 6), "defects": 0, "tradeable": True,
                "price": "7.50" if priced else None, "currency": "EUR" if priced else None,
                "created_at": now, "updated_at": now}  # fmt: skip

    def want(user: int, pin: int) -> dict[str, Any]:
        return {"user_id": user, "pin_id": pins[pin][0], "priority": rng.randint(1, 5),
                "min_condition": rng.choice([None, 2, 3]), "created_at": now,
                "updated_at": now}  # fmt: skip

    haves = [have(p, i) for p in partners for i in partner_haves[p]]
    wants = [want(p, i) for p in partners for i in partner_wants[p]]
    plans: list[tuple[int, int, list[int], list[int]]] = []  # user, partner, receive, give
    for n, user in enumerate(collectors):
        swaps = [partners[n % partners_n]]
        if n % 5 == 0:
            swaps.append(partners[(n * 7 + 1) % partners_n])
        mine: set[int] = set()
        wanted: set[int] = set()
        for partner in swaps:
            offered = [i for i in partner_haves[partner] if i not in wanted]
            receive = rng.sample(offered, rng.randint(1, 3))
            wanted.update(receive)
            give = [i for i in rng.sample(partner_wants[partner], 3) if i not in mine]
            give = give[: rng.randint(1, len(give))]
            wants += [want(user, i) for i in receive]
            haves += [have(user, i) for i in give]
            mine.update(give)
            plans.append((user, partner, receive, give))
    for start in range(0, len(haves), 5000):
        session.execute(insert(Have), haves[start : start + 5000])
    for start in range(0, len(wants), 5000):
        session.execute(insert(Want), wants[start : start + 5000])
    have_ids = {
        (u, p): h for h, u, p in session.execute(select(Have.id, Have.user_id, Have.pin_id))
    }
    want_ids = {
        (u, p): w for w, u, p in session.execute(select(Want.id, Want.user_id, Want.pin_id))
    }
    session.execute(
        insert(Match),
        [
            {"user_id": u, "kind": "swap", "key": f"swap:{p}", "counterpart_id": p,
             "score": round(rng.uniform(0.5, 3.0), 3), "coverage": len(r),
             "balance": min(len(r), len(g)) / max(len(r), len(g)),
             "condition": rng.random(), "active": True,
             "first_seen_at": now, "last_seen_at": now, "changed_at": now}
            for u, p, r, g in plans
        ],
    )  # fmt: skip
    match_ids = {
        (u, p): m
        for m, u, p in session.execute(select(Match.id, Match.user_id, Match.counterpart_id))
    }
    items = []
    expected: dict[str, dict[str, Any]] = {}
    by_id = {user: email for email, user in people.items()}
    for u, p, receive, give in plans:
        match = match_ids[(u, p)]
        for pos, i in enumerate(receive):
            pin = pins[i][0]
            items.append({"match_id": match, "direction": "receive", "position": pos,
                          "have_id": have_ids[(p, pin)], "want_id": want_ids[(u, pin)],
                          "pin_id": pin})  # fmt: skip
        for pos, i in enumerate(give):
            pin = pins[i][0]
            items.append({"match_id": match, "direction": "give", "position": pos,
                          "have_id": have_ids[(u, pin)], "want_id": want_ids[(p, pin)],
                          "pin_id": pin})  # fmt: skip
        mail = expected.setdefault(by_id[u], {"user_id": u, "names": [], "pins": []})
        mail["names"].append(names[p])
        mail["pins"] += [pins[i][0] for i in receive + give]
    # Each mail names a pin as its recipient's language shows it.
    shown = {lang: titles_in(session, [p for p, _ in pins], lang) for lang in ("en", "ru")}
    for mail in expected.values():
        lang = "ru" if mail["user_id"] in russian else "en"
        mail["pins"] = [shown[lang][pin] for pin in mail["pins"]]
    for start in range(0, len(items), 5000):
        session.execute(insert(MatchItem), items[start : start + 5000])
    session.commit()
    return expected


def check(received: list[Any], expected: dict[str, dict[str, Any]], secret: str) -> dict[str, int]:
    """Lost, duplicated and wrong messages at the sink."""
    from marketplace.notifications.operations import Links

    links = Links("http://znachki.bench", secret)
    per_address = collections.Counter(r.rcpt_tos[0] for r in received)
    per_id = collections.Counter(r.message["Message-ID"] for r in received)
    wrong = 0
    for r in received:
        want = expected.get(r.rcpt_tos[0])
        header = r.message.get("List-Unsubscribe", "")
        token = re.search(r"/unsubscribe/([^>]+)>", header)
        text = r.text
        ok = (
            want is not None
            and r.message.get("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
            and token is not None
            and links.read_token(token.group(1))[0] == want["user_id"]
            and all(name in text for name in want["names"])
            and all(title in text for title in want["pins"])
        )
        wrong += not ok
    return {
        "delivered": len(per_address),
        "lost": len(set(expected) - set(per_address)),
        "duplicates": sum(n - 1 for n in per_address.values()),
        "duplicate_ids": sum(n - 1 for n in per_id.values()),
        "wrong": wrong,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for mail")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="mailbench-"))
    database_url = args.database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    smtp = SmtpServer().start()
    env = {
        "ZNACHKI_ENV": "testing",
        "SECRET_KEY": "benchmark",
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "BASE_URL": "http://znachki.bench",
        "BROKER_VISIBILITY_TIMEOUT": "30",
    }
    os.environ.update(env)

    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.accounts.models import User
    from marketplace.core import outbox
    from marketplace.core.celery_app import after_commit
    from marketplace.core.extensions import db
    from marketplace.core.outbox import OutboxMessage
    from marketplace.mail.models import MailMessage
    from marketplace.matches.models import Match
    from marketplace.matches.store import NOTIFY_TASK
    from marketplace.notifications.models import Digest, Notification

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        session = db.session()
        for model in (Notification, Digest, MailMessage, OutboxMessage, Match):
            session.execute(delete(model))
        session.execute(delete(User).where(User.email.like("bench%")))
        session.commit()
        expected = populate(session, args.messages)
        collectors = sorted(w["user_id"] for w in expected.values())

        workers = [
            subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "workers.worker", "worker",
                    "--loglevel=WARNING", "--concurrency=1", "--pool=prefork",
                    f"--hostname=bench{n}@%h", "--without-gossip", "--without-mingle",
                ],
                cwd=ROOT,
                env={**os.environ},
                stdout=(scratch / f"worker{n}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            for n in range(args.workers)
        ]  # fmt: skip
        time.sleep(6)  # let the workers connect
        began = time.perf_counter()
        # As a match refresh does: one event per collector, in one transaction.
        outbox.enqueue_many(session, NOTIFY_TASK, ({"user_id": u} for u in collectors))
        session.commit()
        after_commit(app)
        while outbox.pending_summary(session)["unpublished"]:
            outbox.publish_pending(session, outbox.celery_publisher(app.extensions["celery"]))
            session.commit()
        session.close()
        last_report = 0.0
        elapsed = 0.0
        while elapsed < args.timeout:
            arrived = len(smtp.handler.received)
            elapsed = time.perf_counter() - began
            if elapsed - last_report > 10:
                print(f"  {arrived}/{args.messages} after {elapsed:.0f} s", file=sys.stderr)
                last_report = elapsed
            if arrived >= args.messages:
                break
            time.sleep(0.1)
        time.sleep(3)  # a late duplicate would arrive now
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(30)
        unsent = session.scalar(
            select(func.count(MailMessage.id)).where(MailMessage.status != "sent")
        )
        session.commit()
    smtp.stop()
    found = check(smtp.handler.received, expected, "benchmark")
    dialect = database_url.split(":", 1)[0].split("+")[0]
    print(
        f"{dialect}, {args.workers} worker processes: {found['delivered']} of {args.messages} "
        f"match emails delivered in {elapsed:.1f} s ({found['delivered'] / elapsed:.0f} msgs/s), "
        f"{found['lost']} lost, {found['duplicates']} duplicates by recipient "
        f"({found['duplicate_ids']} by Message-ID), {found['wrong']} with wrong content, "
        f"{unsent} not marked sent"
    )


if __name__ == "__main__":
    main()
