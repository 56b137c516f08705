"""Ring acceptances racing for a few copies: --copies single copies, each its own
collector's, and --rings three-collector rings over them (every ring three of
those copies, each copy in several rings), every ring accepted by two of its
members and waiting for the third. Then all the last acceptances start at one
instant on --threads threads, each acceptance in its own app context, session
and connection, committed on success and rolled back on any error, as a request
is (a thread with more than one ring takes them one after another).

Prints acceptances, winners, conflicts, deadlocks and other errors, partial
trades and double-reserved copies (the reservation ledger audited against the
trades and checkouts that hold copies), and acceptance latency p50/p95/max.

    .venv/bin/python benchmarks/trade_acceptance_race.py \\
        --database-url postgresql+psycopg://u@127.0.0.1/scratch \\
        [--rings 60] [--copies 20] [--threads 60] [--seed 1] [--wipe]

The database is migrated by the app. It must be a scratch database: the run
refuses one that already has collectors unless --wipe is given, which deletes
every row first. Its rows stay afterwards, for a look at the outcome.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from marketplace import create_app  # noqa: E402
from marketplace.accounts.models import User  # noqa: E402
from marketplace.core.extensions import db  # noqa: E402
from marketplace.trades.models import Trade  # noqa: E402
from tests.support.app import make_settings, migrate, wipe  # noqa: E402
from tests.support.trade_races import (  # noqa: E402
    Attempt,
    accept_as_a_request,
    at_once,
    audit_ledger,
    contested_rings,
    wide_engine,
)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="a scratch database")
    parser.add_argument("--rings", type=int, default=60)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--threads", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1, help="which copies each ring takes")
    parser.add_argument("--wipe", action="store_true", help="delete every row first")
    args = parser.parse_args()
    threads = max(1, min(args.threads, args.rings))

    scratch = Path(tempfile.mkdtemp(prefix="znachki-race-"))
    app = create_app(make_settings(args.database_url, scratch), OUTBOX_RELAY=False)
    migrate(app)
    with app.app_context():
        collectors = db.session.scalar(select(func.count()).select_from(User)) or 0
    if collectors and not args.wipe:
        raise SystemExit(
            f"the database has {collectors} collectors; use a scratch database, or --wipe"
        )
    if args.wipe:
        wipe(app)
    wide_engine(app, threads + 2)
    dialect = app.extensions["db_engine"].dialect.name

    began = time.perf_counter()
    with app.app_context():
        seats = contested_rings(args.copies, args.rings, seed=args.seed)
        db.session.commit()
    print(
        f"database: {dialect}; {args.copies} copies, {args.rings} rings of three "
        f"(each copy in ~{3 * args.rings / args.copies:.1f} rings), {threads} threads; "
        f"set up in {time.perf_counter() - began:.1f} s"
    )

    def run(thread: int) -> list[Attempt]:
        return [
            accept_as_a_request(app, seat.last_member_id, seat.trade_id)
            for seat in seats[thread::threads]
        ]

    began = time.perf_counter()
    attempts = [a for batch in at_once(threads, run) for a in batch]
    wall = time.perf_counter() - began

    with app.app_context():
        audit = audit_ledger(db.session())
        statuses = dict(db.session.execute(select(Trade.id, Trade.status)).all())
    outcomes = Counter(a.outcome for a in attempts)
    won = [a for a in attempts if a.outcome == "accepted"]
    # An acceptance that committed must have left its trade agreed, and a refused
    # one must have left it as it was.
    disagree = [
        a.trade_id
        for a in attempts
        if (a.outcome == "accepted") != (statuses[a.trade_id] == "accepted")
    ]
    others = {k: n for k, n in outcomes.items() if k not in ("accepted", "Conflict", "deadlock")}
    latencies = [a.seconds for a in attempts]
    figures = {
        "acceptances": len(attempts),
        "winners": len(won),
        "conflicts": outcomes["Conflict"],
        "deadlocks": outcomes["deadlock"],
        "other errors": sum(others.values()),
        "partial trades": len(audit.partial_trades) + len(disagree),
        "double-reserved copies": len(audit.double_reserved),
        "copies held": audit.reserved_units,
        "latency p50 ms": round(percentile(latencies, 0.50) * 1000, 1),
        "latency p95 ms": round(percentile(latencies, 0.95) * 1000, 1),
        "latency max ms": round(max(latencies) * 1000, 1),
        "wall s": round(wall, 2),
    }
    width = max(len(k) for k in figures)
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")
    for kind, count in others.items():
        example = next(a.detail for a in attempts if a.outcome == kind)
        print(f"  {count} × {kind}: {example}")
    app.extensions["db_engine"].dispose()
    broken = figures["deadlocks"] or figures["partial trades"] or figures["double-reserved copies"]
    sys.exit(1 if broken or others else 0)


if __name__ == "__main__":
    main()
