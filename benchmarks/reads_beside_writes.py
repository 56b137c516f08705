"""Pages on SQLite while a worker writes: how long a visitor waits for the
catalogue when the database's one write lock is busy.

    python benchmarks/reads_beside_writes.py [--database PATH] [--seconds 10] \\
        [--hold-ms 40] [--gap-ms 10]

A writer, as a worker refreshing matches does, holds the write lock in
transactions of --hold-ms with --gap-ms between them (80 % of the time at the
defaults). Meanwhile one visitor loads catalogue pages through the WSGI app for
--seconds: the search page for search_bench's queries, each URL unique so that
every page is read from the database, not the page cache. It prints the pages'
latency percentiles and how many it served, then the same with no writer, so
the figure is what the writer costs.

The database (default: a temporary file) is migrated and given the demo
catalogue first.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text

from benchmarks.search_bench import queries
from marketplace.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def writer(engine: Any, hold_s: float, gap_s: float, stop: threading.Event) -> int:
    """Hold the write lock for `hold_s`, let go for `gap_s`, until `stop`."""
    done = 0
    while not stop.is_set():
        with engine.begin() as conn:  # outside any request: BEGIN IMMEDIATE
            conn.execute(text("UPDATE pins SET version = version WHERE id = 0"))  # no row
            time.sleep(hold_s)
        done += 1
        time.sleep(gap_s)
    return done


# Numbers every URL, across the warm-up and both runs, so no page is one the
# page cache already holds.
_URLS = itertools.count()


def visit(app: Any, seconds: float) -> list[float]:
    """Load search pages for `seconds`; each page's time in ms."""
    client = app.test_client()
    searches = itertools.cycle(queries(200, 7))
    timings = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        url = "/pins?" + urllib.parse.urlencode({**next(searches), "bench": next(_URLS)})
        began = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return timings


def report(label: str, timings: list[float], seconds: float) -> None:
    ordered = sorted(timings)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{label}: {len(ordered)} pages ({len(ordered) / seconds:.0f}/s), "
        f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", help="SQLite file (default: a temporary one)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--hold-ms", type=float, default=40.0)
    parser.add_argument("--gap-ms", type=float, default=10.0)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.catalogue.models import Pin
    from marketplace.catalogue.operations import load_demo_catalogue
    from marketplace.core.extensions import db

    if args.database:
        path = Path(args.database)
    else:
        path = Path(tempfile.mkdtemp(prefix="reads-beside-writes-")) / "znachki.db"
    settings = Settings.from_env(
        {"ZNACHKI_ENV": "development", "DATABASE_URL": f"sqlite:///{path}"}
    )
    app = create_app(settings)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        load_demo_catalogue(db.session())
        db.session.commit()
        pins = db.session.scalar(select(func.count(Pin.id)))
        engine = db.engine
    print(f"{path}: {pins} pins, the writer holds the lock {args.hold_ms:g} ms "
          f"of every {args.hold_ms + args.gap_ms:g} ms")  # fmt: skip
    visit(app, 2.0)  # warm-up, not counted

    stop = threading.Event()
    writes: list[int] = []
    thread = threading.Thread(
        target=lambda: writes.append(writer(engine, args.hold_ms / 1000, args.gap_ms / 1000, stop)),
        daemon=True,
    )
    thread.start()
    try:
        busy = visit(app, args.seconds)
    finally:
        stop.set()
        thread.join()
    report(f"beside the writer ({writes[0]} write transactions)", busy, args.seconds)
    report("no writer", visit(app, args.seconds), args.seconds)


if __name__ == "__main__":
    main()
