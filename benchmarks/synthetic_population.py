"""Matching at population scale: a synthetic market in PostgreSQL, then the time
to refresh one collector's matches after a list change, and the capped global
solve's time and peak memory, at each population size (the growth curve).

Population: 50,000 synthetic pins (benchmarks/catalogue_gen.py) with Zipf
popularity (the k-th most popular pin is held and wanted ~1/k as often);
collectors hold 10 to 11,000 pins and want 5 to 1,000, heavy-tailed (Pareto),
so most lists are short and a few are huge. Sizes grow in place: 10k, then 20k
more (30k), then 70k more (100k). Rows are bulk-inserted (`insert(...)` with
many parameter sets), never ORM objects one by one.

    python benchmarks/synthetic_population.py                  # private server
    python benchmarks/synthetic_population.py --collectors 10000,30000 \\
        --database-url postgresql+psycopg://u@host/db         # existing database

Refresh: a sampled collector's matches are refreshed once (cold), a Want is
added by the list service, and the refresh the worker runs for the event it
wrote (`refresh_after_change` with its payload) is timed (p50/p95/max). Solve: the capped global
solve (--cap, --top-k, --solve-seconds per component) in a child process, so its
peak memory (RSS) is its own. The closing table has one row per size.

Without --database-url a private PostgreSQL is started in a temporary folder
(initdb, pg_ctl on a free port, createdb, as tests/run_suite.sh does) and
stopped at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from benchmarks import catalogue_gen
from marketplace.config import Settings

ROOT = Path(__file__).resolve().parents[1]
CONDITIONS = [1, 2, 3, 4, 5, 6]
BATCH = 20_000


# -- a private PostgreSQL ------------------------------------------------------------


class PrivatePostgres:
    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
        if not bins:
            raise SystemExit("no PostgreSQL binaries under /usr/lib/postgresql")
        self.bin = bins[-1]
        self.work = Path(tempfile.mkdtemp(prefix="znachki-bench-"))
        self.data = self.work / "pg"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def _run(self, *command: str) -> None:
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ("runuser", "-u", "postgres", "--", *command)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    def start(self) -> str:
        self.data.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.work, "postgres")
            shutil.chown(self.data, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "znachki", "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c shared_buffers=1GB -c work_mem=64MB -c maintenance_work_mem=512MB"
        )
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.work / "pg.log"), "-w", "-o", options, "start")  # fmt: skip
        subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "znachki", "bench"], check=True)  # fmt: skip
        return f"postgresql+psycopg://znachki@127.0.0.1:{self.port}/bench"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.work, ignore_errors=True)


# -- the population ------------------------------------------------------------------


def list_sizes(rng: np.random.Generator, n: int, low: int, high: int, alpha: float) -> Any:
    return np.minimum(high, (low * (1 + rng.pareto(alpha, n))).astype(np.int64))


def zipf_sample(rng: np.random.Generator, cdf: Any, k: int, exclude: set[int]) -> list[int]:
    """k distinct pin indexes drawn by Zipf popularity, none in `exclude`."""
    chosen: dict[int, None] = {}
    while len(chosen) < k:
        draws = np.searchsorted(cdf, rng.random(max(16, 2 * (k - len(chosen)))))
        for d in draws.tolist():
            if d not in exclude and d not in chosen:
                chosen[d] = None
                if len(chosen) == k:
                    break
    return list(chosen)


def add_collectors(session: Session, count: int, pins: list[tuple[int, str]], seed: int) -> None:
    from marketplace.accounts.models import User
    from marketplace.core.models import utcnow
    from marketplace.lists.models import Have, Want

    rng = np.random.default_rng(seed)
    n_pins = len(pins)
    # Popularity order is a random permutation of the pins, weights 1/rank.
    order = rng.permutation(n_pins)
    weights = 1.0 / np.arange(1, n_pins + 1)
    cdf = np.cumsum(weights) / weights.sum()
    have_sizes = list_sizes(rng, count, 10, 11_000, 1.2)
    want_sizes = list_sizes(rng, count, 5, 1_000, 1.2)
    first = (session.scalar(select(func.max(User.id))) or 0) + 1
    now = utcnow()
    users = [
        {"email": f"c{first + i}@bench.invalid", "display_name": f"Collector {first + i}",
         "password_hash": "!", "locale": "en", "timezone": "UTC", "is_moderator": False,
         "created_at": now, "email_verified_at": now}
        for i in range(count)
    ]  # fmt: skip
    for start in range(0, count, BATCH):
        session.execute(insert(User), users[start : start + BATCH])
    ids = session.scalars(
        select(User.id).where(User.id >= first).order_by(User.id).limit(count)
    ).all()
    haves: list[dict[str, Any]] = []
    wants: list[dict[str, Any]] = []
    began = time.perf_counter()

    def flush() -> None:
        if haves:
            session.execute(insert(Have), haves)
        if wants:
            session.execute(insert(Want), wants)
        haves.clear()
        wants.clear()

    for i, user_id in enumerate(ids):
        held = zipf_sample(rng, cdf, int(have_sizes[i]), set())
        held_set = set(held)
        conditions = rng.integers(1, 7, len(held)).tolist()
        tradeable = (rng.random(len(held)) < 0.8).tolist()
        priced = (rng.random(len(held)) < 0.1).tolist()
        for j, idx in enumerate(held):
            haves.append({
                "user_id": user_id, "pin_id": pins[order[idx]][0], "quantity": 1,
                "condition": conditions[j], "defects": 0, "tradeable": tradeable[j],
                "price": "5.00" if priced[j] else None, "currency": "EUR" if priced[j] else None,
                "created_at": now, "updated_at": now,
            })  # fmt: skip
        wanted = zipf_sample(rng, cdf, int(want_sizes[i]), held_set)
        groups: set[str] = set()
        for idx in wanted:
            pin_id, group = pins[order[idx]]
            any_variant = rng.random() < 0.1 and group not in groups
            groups.add(group)
            wants.append({
                "user_id": user_id,
                "pin_id": None if any_variant else pin_id,
                "variant_group": group if any_variant else None,
                "priority": int(rng.integers(1, 6)),
                "min_condition": None if rng.random() < 0.6 else int(rng.integers(1, 5)),
                "created_at": now, "updated_at": now,
            })  # fmt: skip
        if len(haves) + len(wants) >= BATCH:
            flush()
        if i % 1000 == 999:
            rate = (i + 1) / (time.perf_counter() - began)
            print(f"\r  {i + 1:>7}/{count} collectors ({rate:,.0f}/s)", end="", file=sys.stderr)
    flush()
    session.commit()
    print(file=sys.stderr)


# -- measurements --------------------------------------------------------------------


def measure_refresh(session: Session, samples: int, seed: int) -> dict[str, float]:
    """p50/p95/max seconds to refresh one collector after a list change (a new
    Want), on collectors whose matches were stored once before (warm rows).

    The Want is added by the list service, and the refresh is what the worker's
    task runs for the event it wrote: `refresh_after_change` with the event's
    payload (incremental when the payload says what changed, else full)."""
    from marketplace.accounts.models import User
    from marketplace.catalogue.models import Pin
    from marketplace.core.outbox import OutboxMessage
    from marketplace.lists.models import Want
    from marketplace.lists.operations import REFRESH_TASK, Lists
    from marketplace.matches.refresh import refresh_after_change, refresh_collector

    rng = np.random.default_rng(seed)
    top = session.scalar(select(func.max(User.id))) or 1
    low = session.scalar(select(func.min(User.id))) or 1
    pin_ids = session.scalars(select(Pin.id).where(Pin.is_synthetic.is_(True))).all()
    chosen = [int(x) for x in rng.integers(low, top + 1, samples)]
    # As a worker's pool process does at start (workers/worker.py): what is loaded
    # by now stays, and full collections should not walk it during the refreshes.
    gc.freeze()
    cold: list[float] = []
    timings: list[float] = []
    rows: list[int] = []
    for user_id in chosen:
        began = time.perf_counter()
        refresh_collector(session, user_id)
        session.commit()
        cold.append(time.perf_counter() - began)
        while True:  # a pin the collector neither wants nor holds yet
            pin_id = int(pin_ids[int(rng.integers(0, len(pin_ids)))])
            exists = session.scalar(
                select(Want.id).where(Want.user_id == user_id, Want.pin_id == pin_id)
            )
            if exists is None:
                break
        user = session.get(User, user_id)
        assert user is not None
        Lists(session).add_want(user, pin_id=pin_id, priority=3)
        event = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.task == REFRESH_TASK)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        ).one()
        session.commit()
        changes = {k: v for k, v in event.payload.items() if k != "user_id"}
        began = time.perf_counter()
        outcome = refresh_after_change(session, user_id, **changes)
        session.commit()
        timings.append(time.perf_counter() - began)
        rows.append(len(outcome.new) + len(outcome.changed) + len(outcome.reactivated))
    gc.unfreeze()
    return {
        "cold_p50_ms": 1000 * float(np.percentile(cold, 50)),
        "cold_p95_ms": 1000 * float(np.percentile(cold, 95)),
        "p50_ms": 1000 * float(np.percentile(timings, 50)),
        "p95_ms": 1000 * float(np.percentile(timings, 95)),
        "max_ms": 1000 * max(timings),
        "rows_changed_p95": float(np.percentile(rows, 95)),
    }


def solve_in_child(url: str, cap: int, time_limit: float, top_k: int) -> dict[str, Any]:
    """The global solve in a fresh process, so its peak memory is its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--solve-only", "--database-url", url, "--cap", str(cap),
         "--solve-seconds", str(time_limit), "--top-k", str(top_k)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def solve_only(url: str, cap: int, time_limit: float, top_k: int) -> None:
    import resource

    from marketplace import create_app
    from marketplace.core.extensions import db
    from marketplace.matches import solve as matches
    from marketplace.matches.models import SolveRun

    app = create_app(Settings.from_env({"ZNACHKI_ENV": "development", "DATABASE_URL": url}))
    with app.app_context():
        session = db.session()
        began = time.perf_counter()
        k = top_k or None
        planned = matches.run_global_solve(session, cap=cap, time_limit=time_limit, top_k=k)
        plan_s = time.perf_counter() - began
        session.commit()
        statuses: dict[str, int] = {}
        for members in planned.components:
            result = matches.solve_component(session, planned.run_id, members, top_k=k)
            statuses[result.status] = statuses.get(result.status, 0) + 1
            session.commit()
        run = session.get(SolveRun, planned.run_id)
        assert run is not None
        sizes = [len(c) for c in planned.components]
        print(json.dumps({
            "seconds": round(time.perf_counter() - began, 2),
            "plan_seconds": round(plan_s, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "traders": run.collectors, "components": run.components,
            "largest_component": max(sizes, default=0),
            "items": run.items_traded, "collectors_trading": run.collectors_trading,
            "proposals": run.proposals, "optimal": run.optimal, "max_gap": run.max_gap,
            "statuses": statuses, "notes": run.notes[:3],
        }))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="default: a private PostgreSQL, removed after")
    parser.add_argument(
        "--collectors",
        default="10000,30000,100000",
        help="population sizes, comma-separated, grown in place (default: %(default)s)",
    )
    parser.add_argument("--pins", type=int, default=50_000, help="synthetic pins (%(default)s)")
    parser.add_argument(
        "--samples", type=int, default=200, help="collectors refreshed per size (%(default)s)"
    )
    parser.add_argument("--cap", type=int, default=3, help="solve's cycle cap (%(default)s)")
    parser.add_argument(
        "--top-k",
        type=int,
        default=20,
        help="solve's graph bound: transfers each collector receives, most wanted "
        "first; 0 = unbounded (default: %(default)s)",
    )
    parser.add_argument(
        "--solve-seconds",
        type=float,
        default=60.0,
        help="CP-SAT time limit per component (%(default)s)",
    )
    parser.add_argument("--no-solve", action="store_true", help="measure refresh only")
    parser.add_argument("--seed", type=int, default=11, help="random seed (%(default)s)")
    parser.add_argument("--solve-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.solve_only:
        solve_only(args.database_url, args.cap, args.solve_seconds, args.top_k)
        return

    server = None
    url = args.database_url
    if url is None:
        server = PrivatePostgres()
        url = server.start()
    try:
        run(url, args)
    finally:
        if server is not None:
            server.stop()


def run(url: str, args: argparse.Namespace) -> None:
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.accounts.models import User
    from marketplace.catalogue.models import Pin
    from marketplace.core.extensions import db
    from marketplace.lists.models import Have, Want

    app = create_app(Settings.from_env({"ZNACHKI_ENV": "development", "DATABASE_URL": url}))
    sizes = [int(s) for s in args.collectors.split(",")]
    table = []
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        session = db.session()
        synthetic = select(func.count(Pin.id)).where(Pin.is_synthetic.is_(True))
        have = session.scalar(synthetic) or 0
        if have < args.pins:
            catalogue_gen.load(session, args.pins - have)
        pins = [(int(i), str(g)) for i, g in session.execute(
            select(Pin.id, Pin.variant_group).where(Pin.is_synthetic.is_(True)).order_by(Pin.id)
        )]  # fmt: skip
        for number, size in enumerate(sizes):
            present = session.scalar(select(func.count(User.id))) or 0
            if present < size:
                began = time.perf_counter()
                add_collectors(session, size - present, pins, args.seed + number)
                load_s = time.perf_counter() - began
            else:
                load_s = 0.0
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
            counts = {
                "haves": session.scalar(select(func.count(Have.id))),
                "wants": session.scalar(select(func.count(Want.id))),
            }
            row: dict[str, Any] = {"collectors": size, "load_s": round(load_s, 1), **counts}
            row.update(measure_refresh(session, args.samples, args.seed + 100 + number))
            if not args.no_solve:
                row["solve"] = solve_in_child(url, args.cap, args.solve_seconds, args.top_k)
            table.append(row)
            print(json.dumps(row), flush=True)
    print_table(table, args)


def print_table(table: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print()
    print(
        f"Refresh after adding a Want ({args.samples} samples per size); global solve with "
        f"cycle cap {args.cap}, top-K {args.top_k or 'off'}, {args.solve_seconds:g} s per "
        "component"
    )
    header = (
        f"{'collectors':>10} {'haves':>10} {'wants':>9} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'max ms':>8} {'solve s':>8} {'peak MB':>8} {'proposals':>9}  status"
    )
    print(header)
    print("-" * len(header))
    for r in table:
        solve = r.get("solve") or {}
        if "error" in solve:
            seconds, peak, proposals, status = "-", "-", "-", f"error: {solve['error']}"
        elif solve:
            seconds = f"{solve['seconds']:.1f}"
            peak = f"{solve['peak_rss_mb']:,}"
            proposals = f"{solve['proposals']:,}"
            states = ", ".join(f"{n} {k}" for k, n in sorted(solve["statuses"].items()))
            status = f"{states}; gap {solve['max_gap']:.4f}" if states else "no components"
        else:
            seconds, peak, proposals, status = "-", "-", "-", "not run"
        print(
            f"{r['collectors']:>10,} {r['haves']:>10,} {r['wants']:>9,} {r['p50_ms']:>8.1f} "
            f"{r['p95_ms']:>8.1f} {r['max_ms']:>8.1f} {seconds:>8} {peak:>8} {proposals:>9}  "
            f"{status}"
        )


if __name__ == "__main__":
    main()
