"""Matching at population scale: a synthetic market in PostgreSQL, then the time
to bring one collector's matches up to date after the list changes collectors
make, and the capped global solve's time and peak memory, at each population
size (the growth curve).

Population: 50,000 synthetic pins (benchmarks/catalogue_gen.py) with Zipf
popularity (the k-th most popular pin is held and wanted ~1/k as often; one
popularity order for every size); collectors hold 10 to 11,000 pins and want 5 to
1,000, heavy-tailed (Pareto), so most lists are short and a few are huge. Sizes
grow in place: 10k, then 20k more (30k), then 70k more (100k). Rows are copied
in (COPY), never ORM objects one by one. The private server runs with production
durability (fsync, synchronous commit, full-page writes on).

    python benchmarks/synthetic_population.py                  # private server
    python benchmarks/synthetic_population.py --collectors 10000,30000 \\
        --database-url postgresql+psycopg://u@host/db         # existing database

Refresh, in process (--samples collectors drawn uniformly): a full refresh (what
the worker runs after an import or a bulk edit), then a Want for a pin drawn by
want popularity (how many Wants name it), a Have drawn by have popularity, a
Want and a Have for pins drawn uniformly; each change is made and committed by
the list service, then its event is claimed and refreshed as the task does
(`refresh_after_change` with the payload) and committed: p50/p95/max. Then full
refreshes of the ten largest collections (--big-samples).

Through the worker (--worker-samples; needs `redis-server`): a private Redis and
a real Celery worker (`workers.worker`, --concurrency); the same changes, timed
from the commit that queues the event (the relay publishes it, as after a
request) to the worker's commit of the refresh — queue wait included. Then
--imports staged 10,000-row Have imports (pins by have popularity) of
collectors with Wants, timed from the commit that queues the import to the
import committed and to the collector's matches being current (the refresh the
import queued, committed).

Rings (--ring-samples; benchmarks/ring_freshness.py): a Want that closes a ring of
three through a collector drawn uniformly; the ring search in process, and through
the worker the time from its commit to the ring stored and to its mail built.

Solve: the capped global solve (--cap, --top-k, --solve-seconds per component)
in a child process, so its peak memory (RSS) is its own. The closing tables
have one section per size.

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
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from benchmarks import catalogue_gen, ring_freshness
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
            # Production durability: every commit waits for its WAL flush, as the
            # refreshes users wait for do.
            "-c fsync=on -c synchronous_commit=on -c full_page_writes=on "
            "-c shared_buffers=1GB -c work_mem=64MB -c maintenance_work_mem=512MB "
            "-c max_wal_size=8GB"
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


def popularity(n_pins: int, seed: int) -> tuple[Any, Any]:
    """The pins' popularity order (a permutation, the k-th most popular first)
    and the Zipf cdf over ranks (weights 1/rank). One order for every size: each
    size drawing its own would spread the popular pins and flatten the tail."""
    order = np.random.default_rng(seed).permutation(n_pins)
    weights = 1.0 / np.arange(1, n_pins + 1)
    return order, np.cumsum(weights) / weights.sum()


def add_collectors(
    session: Session, count: int, pins: list[tuple[int, str]], seed: int, order: Any, cdf: Any
) -> None:
    from marketplace.accounts.models import User
    from marketplace.core.models import utcnow
    from marketplace.lists.models import Have, Want

    rng = np.random.default_rng(seed)
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
        # COPY in the session's transaction: inserting through SQLAlchemy held the
        # build to ~15 collectors a second on a busy machine.
        raw = session.connection().connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor:
            for model, rows in ((Have, haves), (Want, wants)):
                if not rows:
                    continue
                columns = ", ".join(rows[0])
                with cursor.copy(f"COPY {model.__tablename__} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(tuple(row.values()))
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


CHANGES = ("want_popular", "have_popular", "want_uniform", "have_uniform")


def stats(seconds: list[float]) -> dict[str, float]:
    """p50/p95/max in milliseconds, and how many samples."""
    if not seconds:
        return {"n": 0}
    ms = 1000 * np.asarray(seconds)
    return {
        "n": len(ms),
        "p50": round(float(np.percentile(ms, 50)), 1),
        "p95": round(float(np.percentile(ms, 95)), 1),
        "max": round(float(ms.max()), 1),
    }


class Draws:
    """Pins drawn the way collectors list them: by how many Wants (or Haves) each
    pin has now (its popularity), or uniformly; and collectors uniformly."""

    def __init__(self, session: Session, seed: int) -> None:
        from marketplace.accounts.models import User
        from marketplace.catalogue.models import Pin
        from marketplace.lists.models import Have, Want

        self.rng = np.random.default_rng(seed)
        self.pins = np.asarray(
            session.scalars(select(Pin.id).where(Pin.is_synthetic.is_(True)).order_by(Pin.id)).all()
        )
        index = {int(p): n for n, p in enumerate(self.pins)}
        self.weights: dict[str, Any] = {}
        for kind, model in (("want", Want), ("have", Have)):
            counts = np.zeros(len(self.pins))
            query = select(model.pin_id, func.count()).group_by(model.pin_id)
            for pin_id, n in session.execute(query):
                if pin_id is not None and int(pin_id) in index:
                    counts[index[int(pin_id)]] = n
            self.weights[kind] = counts / counts.sum()
        self.low = session.scalar(select(func.min(User.id))) or 1
        self.high = session.scalar(select(func.max(User.id))) or 1

    def collector(self) -> int:
        return int(self.rng.integers(self.low, self.high + 1))

    def pin(self, change: str) -> int:
        kind, how = change.split("_")
        p = self.weights[kind] if how == "popular" else None
        return int(self.rng.choice(self.pins, p=p))


def make_change(session: Session, user_id: int, change: str, draws: Draws) -> Any:
    """Add a Want or a Have (by `change`) of a pin the collector neither wants nor
    holds, through the list service; the refresh event it wrote (not yet
    committed)."""
    from marketplace.accounts.models import User
    from marketplace.core.outbox import OutboxMessage
    from marketplace.lists.models import Have, Want
    from marketplace.lists.operations import REFRESH_TASK, Lists

    while True:
        pin_id = draws.pin(change)
        listed = session.scalar(
            select(func.count()).select_from(
                select(Want.id)
                .where(Want.user_id == user_id, Want.pin_id == pin_id)
                .union_all(select(Have.id).where(Have.user_id == user_id, Have.pin_id == pin_id))
                .subquery()
            )
        )
        if not listed:
            break
    user = session.get(User, user_id)
    assert user is not None
    if change.startswith("want"):
        Lists(session).add_want(user, pin_id=pin_id, priority=3)
    else:
        Lists(session).add_have(user, pin_id, tradeable=True)
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.task == REFRESH_TASK)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).one()


def measure_in_process(session: Session, samples: int, big: int, seed: int) -> dict[str, Any]:
    """Milliseconds for what the refresh task runs, in this process: for each of
    `samples` collectors drawn uniformly, a full refresh (the task for an import
    or a bulk edit), then one of each list change in `CHANGES`, each committed by
    the list service and then refreshed as the worker would (claim the event,
    `refresh_after_change` with its payload, commit). Then `big` full refreshes
    of the largest collections, in turn."""
    from marketplace.core import outbox
    from marketplace.lists.models import Have
    from marketplace.matches.refresh import refresh_after_change, refresh_collector

    draws = Draws(session, seed)
    # As a worker's pool process does at start (workers/worker.py): what is loaded
    # by now stays, and full collections should not walk it during the refreshes.
    gc.freeze()
    timings: dict[str, list[float]] = {"full": [], **{c: [] for c in CHANGES}}
    for _ in range(samples):
        user_id = draws.collector()
        began = time.perf_counter()
        refresh_collector(session, user_id)
        session.commit()
        timings["full"].append(time.perf_counter() - began)
        for change in CHANGES:
            event = make_change(session, user_id, change, draws)
            session.commit()
            changes = {k: v for k, v in event.payload.items() if k != "user_id"}
            began = time.perf_counter()
            outbox.claim(session, event.id)
            refresh_after_change(session, user_id, **changes)
            session.commit()
            timings[change].append(time.perf_counter() - began)
    largest = session.execute(
        select(Have.user_id, func.count())
        .group_by(Have.user_id)
        .order_by(func.count().desc())
        .limit(10)
    ).all()
    big_times: list[float] = []
    for n in range(big if largest else 0):
        began = time.perf_counter()
        refresh_collector(session, int(largest[n % len(largest)][0]))
        session.commit()
        big_times.append(time.perf_counter() - began)
    gc.unfreeze()
    result: dict[str, Any] = {k: stats(v) for k, v in timings.items()}
    result["full_largest"] = stats(big_times)
    result["largest_haves"] = [int(n) for _, n in largest]
    return result


class PrivateRedis:
    """A Redis on a free loopback port, without persistence, for the broker."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def start_worker(env: dict[str, str], concurrency: int) -> subprocess.Popen[bytes]:
    """A real Celery worker, as production runs it (`workers.worker`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.worker", "worker", "--loglevel=WARNING",
         f"--concurrency={concurrency}", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env={**os.environ, **env},
    )  # fmt: skip


def wait_consumed(session: Session, outbox_ids: list[int], limit: float = 300.0) -> None:
    """Until the worker has committed the task of each of these outbox rows."""
    from marketplace.core.outbox import OutboxMessage

    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        done = session.scalar(
            select(func.count()).where(
                OutboxMessage.id.in_(outbox_ids), OutboxMessage.consumed_at.is_not(None)
            )
        )
        session.commit()
        if done == len(outbox_ids):
            return
        time.sleep(0.003)
    raise TimeoutError(f"outbox rows {outbox_ids} not consumed in {limit:.0f} s")


def measure_worker(
    app: Any, session: Session, samples: int, imports: int, seed: int, rows: int = 10_000
) -> dict[str, Any]:
    """Milliseconds from the commit of a list change to the collector's matches
    being current, through the real worker (publish, queue wait, task, commit):
    for each of `samples` collectors a full refresh event, then one of each
    change in `CHANGES`. Then `imports` staged 10,000-row Have imports (by have
    popularity) of collectors with Wants, from the commit that queues the import
    to its refresh committed."""
    from marketplace.accounts.models import User
    from marketplace.catalogue.models import Pin
    from marketplace.core import outbox
    from marketplace.core.celery_app import after_commit
    from marketplace.core.outbox import OutboxMessage
    from marketplace.lists.csv_import import StagedImports
    from marketplace.lists.models import Have, Want
    from marketplace.lists.operations import REFRESH_TASK

    draws = Draws(session, seed)
    timings: dict[str, list[float]] = {"full": [], **{c: [] for c in CHANGES}}

    def through_worker(event_id: int) -> float:
        session.commit()
        began = time.perf_counter()
        after_commit(app)  # the relay a request runs after its commit
        wait_consumed(session, [event_id])
        return time.perf_counter() - began

    # Untimed: the worker's processes have started and run a refresh each.
    for _ in range(4):
        event = outbox.enqueue(session, REFRESH_TASK, user_id=draws.collector(), full=True)
        session.info["outbox_dirty"] = True
        through_worker(event.id)
    for _ in range(samples):
        user_id = draws.collector()
        event = outbox.enqueue(session, REFRESH_TASK, user_id=user_id, full=True)
        session.info["outbox_dirty"] = True
        timings["full"].append(through_worker(event.id))
        for change in CHANGES:
            event = make_change(session, user_id, change, draws)
            timings[change].append(through_worker(event.id))

    refs = dict(session.execute(select(Pin.id, Pin.ref).where(Pin.is_synthetic.is_(True))).all())
    to_import: list[float] = []
    import_only: list[float] = []
    for _ in range(imports):
        while True:  # a collector with Wants and a small collection
            user_id = draws.collector()
            wants = session.scalar(select(func.count()).where(Want.user_id == user_id)) or 0
            held = set(session.scalars(select(Have.pin_id).where(Have.user_id == user_id)))
            if wants >= 20 and len(held) < 1000:
                break
        chosen: dict[int, None] = {}
        while len(chosen) < rows:
            for pin_id in draws.rng.choice(draws.pins, 2000, p=draws.weights["have"]).tolist():
                if pin_id not in held and len(chosen) < rows:
                    chosen[int(pin_id)] = None
        lines = ["ref;quantity;condition;tradeable"]
        lines += [f"{refs[p]};1;Fine;yes" for p in chosen]
        user = session.get(User, user_id)
        assert user is not None
        staged = StagedImports(session)
        job = staged.upload(user, "haves", "\n".join(lines).encode(), "haves.csv")
        staged.start(user, job.id, "all_or_nothing", {})
        last = session.scalar(select(func.max(OutboxMessage.id))) or 0
        session.commit()
        began = time.perf_counter()
        after_commit(app)
        while True:
            event = session.scalar(
                select(OutboxMessage.id).where(
                    OutboxMessage.id > last,
                    OutboxMessage.task == REFRESH_TASK,
                    OutboxMessage.payload["user_id"].as_integer() == user_id,
                )
            )
            session.commit()
            if event is not None:
                break
            if time.perf_counter() - began > 600:
                raise TimeoutError("the import did not finish in 10 minutes")
            time.sleep(0.01)
        import_only.append(time.perf_counter() - began)
        wait_consumed(session, [event])
        to_import.append(time.perf_counter() - began)
        created = session.scalar(select(func.count()).where(Have.user_id == user_id))
        assert created == len(held) + rows, (created, len(held))
    result: dict[str, Any] = {k: stats(v) for k, v in timings.items()}
    result["import_committed"] = stats(import_only)
    result["import_matches_current"] = stats(to_import)
    return result


def measure(url: str, session: Session, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """In process, then (unless --no-worker) through a real worker."""
    from marketplace import create_app
    from marketplace.core.extensions import db
    from marketplace.core.outbox import OutboxMessage

    result: dict[str, Any] = {
        "in_process": measure_in_process(session, args.samples, args.big_samples, seed)
    }
    draws = Draws(session, seed + 7)
    rings = ring_freshness.in_process(session, draws, args.ring_samples, args.cap)
    result["in_process"]["ring_search"] = stats(rings["ring_search"])
    result["in_process"]["ring_found"] = rings["ring_found"]
    if args.worker_samples <= 0 and args.imports <= 0 and args.ring_samples <= 0:
        return result
    # What the in-process part queued (mail for new matches) is not the worker's.
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.published_at.is_(None))
        .values(published_at=func.now(), consumed_at=func.now())
    )
    session.commit()
    redis = PrivateRedis()
    env = {"ZNACHKI_ENV": "development", "DATABASE_URL": url, "REDIS_URL": redis.url,
           "SECRET_KEY": "benchmark", "BROKER_DIR": tempfile.mkdtemp()}  # fmt: skip
    worker = start_worker(env, args.concurrency)
    try:
        app = create_app(Settings.from_env(env))
        with app.app_context():
            time.sleep(5)  # the worker connects
            result["worker"] = measure_worker(
                app, db.session(), args.worker_samples, args.imports, seed + 1, args.import_rows
            )
            rings = ring_freshness.through_worker(
                app, db.session(), Draws(db.session(), seed + 8), args.ring_samples
            )
            result["worker"]["ring_shown"] = stats(rings["ring_shown"])
            result["worker"]["ring_mailed"] = stats(rings["ring_mailed"])
            result["worker"]["ring_found"] = rings["ring_found"]
    finally:
        worker.terminate()
        worker.wait(60)
        redis.stop()
    return result


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
        "--samples",
        type=int,
        default=500,
        help="collectors per size refreshed in process, after each change (%(default)s)",
    )
    parser.add_argument(
        "--big-samples",
        type=int,
        default=100,
        help="full refreshes of the ten largest collections, in turn (%(default)s)",
    )
    parser.add_argument(
        "--worker-samples",
        type=int,
        default=500,
        help="collectors per size refreshed through a real worker, after each change "
        "(%(default)s; 0: no worker)",
    )
    parser.add_argument(
        "--imports",
        type=int,
        default=5,
        help="10,000-row imports through the worker, timed to matches current (%(default)s)",
    )
    parser.add_argument("--import-rows", type=int, default=10_000, help=argparse.SUPPRESS)
    parser.add_argument(
        "--ring-samples",
        type=int,
        default=100,
        help="Wants that close a ring of three, in process and through the worker, timed "
        "to the ring shown and its mail built (%(default)s)",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (%(default)s)")
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
    parser.add_argument(
        "--load-only", action="store_true", help="build the population, measure nothing"
    )
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
        order, cdf = popularity(len(pins), args.seed)
        for number, size in enumerate(sizes):
            present = session.scalar(select(func.count(User.id))) or 0
            if present < size:
                began = time.perf_counter()
                add_collectors(session, size - present, pins, args.seed + number, order, cdf)
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
            if args.load_only:
                print(json.dumps(row), flush=True)
                continue
            row.update(measure(url, session, args, args.seed + 100 + number))
            if not args.no_solve:
                row["solve"] = solve_in_child(url, args.cap, args.solve_seconds, args.top_k)
            table.append(row)
            print(json.dumps(row), flush=True)
    if table:
        print_table(table, args)


LABELS = {
    "want_popular": "a Want, pin by want popularity",
    "have_popular": "a Have, pin by have popularity",
    "want_uniform": "a Want, pin uniformly",
    "have_uniform": "a Have, pin uniformly",
    "full": "full refresh, any collector",
    "full_largest": "full refresh, largest collections",
    "import_committed": "10,000-row import: committed",
    "import_matches_current": "10,000-row import: matches current",
    "ring_search": "closing Want: ring search (in process)",
    "ring_shown": "closing Want: ring shown (worker)",
    "ring_mailed": "closing Want: ring's mail built (worker)",
}


def print_table(table: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Per size: each kind of change, in process and through the worker (ms from
    the change's commit to the refresh's), then the solve."""
    for r in table:
        print()
        print(
            f"{r['collectors']:,} collectors, {r['haves']:,} Haves, {r['wants']:,} Wants; "
            f"largest collections {r['in_process'].get('largest_haves', [])[:3]} Haves"
        )
        header = (
            f"{'refresh after':<38} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
            f"   {'worker n':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
        )
        print(header)
        print("-" * len(header))
        worker = r.get("worker", {})
        for key, label in LABELS.items():
            mine, theirs = r["in_process"].get(key, {"n": 0}), worker.get(key, {"n": 0})
            cells = []
            for s in (mine, theirs):
                if s["n"]:
                    cells.append(f"{s['n']:>5} {s['p50']:>8.1f} {s['p95']:>8.1f} {s['max']:>8.1f}")
                else:
                    cells.append(f"{'-':>5} {'-':>8} {'-':>8} {'-':>8}")
            print(f"{label:<38} {cells[0]}   {'':>3}{cells[1]}")
        searched = r["in_process"].get("ring_search", {}).get("n", 0)
        shown = worker.get("ring_shown", {}).get("n", 0)
        print(
            f"a ring the Want closed among those stored: {r['in_process'].get('ring_found', 0)} of "
            f"{searched} in process, {worker.get('ring_found', 0)} of {shown} through the worker"
        )
        solve = r.get("solve") or {}
        if "error" in solve:
            print(f"global solve: error: {solve['error']}")
        elif solve:
            states = ", ".join(f"{n} {k}" for k, n in sorted(solve["statuses"].items()))
            print(
                f"global solve (cycle cap {args.cap}, top-K {args.top_k or 'off'}, "
                f"{args.solve_seconds:g} s per component): {solve['seconds']:.1f} s, "
                f"peak {solve['peak_rss_mb']:,} MB, {solve['proposals']:,} proposals; "
                f"{states or 'no components'}; gap {solve['max_gap']:.4f}"
            )


if __name__ == "__main__":
    main()
