"""Catalogue pages under load, beside a Flask hello-world: the app and a
hello-world app are each served by gunicorn (same workers, same settings), and
the same load tool — `wrk` (Debian's `wrk` package) — drives both for the same
time with the same connections, back to back, so a figure is a ratio to what
this machine serves at all, not a number that only means something here today.

    python benchmarks/pages_load.py --database-url postgresql+psycopg://u@127.0.0.1/db \\
        --redis-url redis://127.0.0.1:6379/0 [--pins 50000] [--collectors 100000]

Pages, as an anonymous visitor (no cookies): `/pins` (the catalogue's front
door), `/pins?q=…` cycling through search_bench's 200 queries with their
filters, and the pin page cycling through 200 pins drawn with a fixed seed.
Each is warmed up first, not counted: every path requested once (8 at a time),
so a running server's caches are as warm as the load's own repetition makes
them, then --warmup seconds of load; then it is loaded for --seconds. The
hello-world is loaded the same way right before each page. It prints, per
page, requests per second, latency percentiles, non-2xx answers and the ratio
to hello-world.

Bounded and local: everything listens on 127.0.0.1 only, the database and
Redis URLs must be loopback, and every run lasts --seconds.
The database is migrated and filled first if it holds fewer synthetic pins or
collectors than asked for (benchmarks/catalogue_gen.py, then the collectors of
benchmarks/synthetic_population.py).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def hello_app() -> Any:
    """The yardstick: Flask's hello-world, served the same way as the app."""
    from flask import Flask

    app = Flask("hello")

    @app.route("/")
    def hello() -> str:
        return "Hello, World!"

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_loopback(url: str) -> None:
    host = urllib.parse.urlsplit(url.replace("+psycopg", "")).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"refusing a non-loopback address: {host!r}")


def prepare(
    database_url: str, pins: int, collectors: int, seed: int
) -> tuple[list[str], list[int]]:
    """Migrate and fill the database; the search paths and the pin ids to load."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from benchmarks import catalogue_gen, search_bench, synthetic_population
    from marketplace import create_app
    from marketplace.accounts.models import User
    from marketplace.catalogue.models import Pin
    from marketplace.catalogue.operations import load_demo_catalogue
    from marketplace.config import Settings
    from marketplace.core.extensions import db

    settings = Settings.from_env({"ZNACHKI_ENV": "development", "DATABASE_URL": database_url})
    app = create_app(settings)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        session = db.session()
        load_demo_catalogue(session)
        session.commit()
        synthetic = select(func.count(Pin.id)).where(Pin.is_synthetic.is_(True))
        have = session.scalar(synthetic) or 0
        if have < pins:
            catalogue_gen.load(session, pins - have)
            session.commit()
        present = session.scalar(select(func.count(User.id))) or 0
        if present < collectors:
            pairs = [
                (int(i), str(g))
                for i, g in session.execute(
                    select(Pin.id, Pin.variant_group)
                    .where(Pin.is_synthetic.is_(True))
                    .order_by(Pin.id)
                )
            ]
            synthetic_population.add_collectors(session, collectors - present, pairs, seed)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        ids = list(session.scalars(select(Pin.id).order_by(Pin.id)))
    rng = random.Random(seed)
    pin_ids = rng.sample(ids, min(200, len(ids)))
    searches = []
    for item in search_bench.queries(200, search_bench.DEFAULT_SEED):
        args = {("series" if k == "series_id" else k): v for k, v in item.items()}
        searches.append("/pins?" + urllib.parse.urlencode(args))
    return searches, pin_ids


class Server:
    """gunicorn serving one WSGI app on a free loopback port."""

    def __init__(self, target: str, workers: int, env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), target,
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--error-logfile", "-", "--log-level", "warning",
             "--backlog", "2048"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{self.port}"

    def wait(self, path: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.process.returncode})")
            try:
                # Our own loopback server, an http:// address built above.
                with urllib.request.urlopen(self.base + path, timeout=30) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"{self.base}{path} did not answer")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def warm(base: str, paths: list[str], connections: int) -> None:
    """Every path once, `connections` at a time."""

    def fetch(path: str) -> None:
        # Our own loopback server, an http:// address built above.
        with urllib.request.urlopen(base + path, timeout=120) as response:  # noqa: S310
            response.read()

    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(fetch, paths))


LUA = """
paths = {%s}
i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def load(base: str, paths: list[str], seconds: int, connections: int, work: Path) -> dict[str, Any]:
    """One wrk run cycling through `paths`; requests/s and latency percentiles."""
    script = work / "paths.lua"
    script.write_text(LUA % ", ".join('"' + p.replace('"', '\\"') + '"' for p in paths))
    out = subprocess.run(
        ["wrk", "--latency", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
         "--timeout", "10s", "-s", str(script), base],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    result: dict[str, Any] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}  # type: ignore[index]
    for pct in ("50", "90", "99"):
        found = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found[2]]
            result[f"p{pct}"] = float(found[1]) * scale
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    result["non2xx"] = int(bad[1]) if bad else 0
    result["errors"] = errors[0] if errors else ""
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="a loopback PostgreSQL or SQLite")
    parser.add_argument("--redis-url", required=True, help="a loopback Redis")
    parser.add_argument("--pins", type=int, default=50_000)
    parser.add_argument("--collectors", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both apps")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=10, help="per measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--pages", default="pins,search,pin", help="which pages to load")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    if not args.database_url.startswith("sqlite"):
        require_loopback(args.database_url)
    require_loopback(args.redis_url)

    searches, pin_ids = prepare(args.database_url, args.pins, args.collectors, args.seed)
    pages = {
        "pins": ("/pins (no query)", ["/pins"]),
        "search": ("/pins?q=… (200 queries)", searches),
        "pin": ("pin page (200 pins)", [f"/pins/{i}" for i in pin_ids]),
    }
    env = {
        **os.environ,
        "ZNACHKI_ENV": "production",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "pages-load-benchmark",
        "SMTP_HOST": "127.0.0.1",
        "BASE_URL": "http://127.0.0.1",
    }
    work = Path(tempfile.mkdtemp(prefix="znachki-pages-"))
    app = Server("marketplace:create_app()", args.workers, env)
    hello = Server("benchmarks.pages_load:hello_app()", args.workers, env)
    rows = []
    try:
        app.wait("/pins")
        hello.wait("/")
        for key in args.pages.split(","):
            label, paths = pages[key]
            load(hello.base, ["/"], args.warmup, args.connections, work)
            base_line = load(hello.base, ["/"], args.seconds, args.connections, work)
            warm(app.base, paths, args.connections)
            load(app.base, paths, args.warmup, args.connections, work)
            page = load(app.base, paths, args.seconds, args.connections, work)
            rows.append((label, page, base_line))
            print(f"  {label}: {page['rps']:.1f} req/s (hello {base_line['rps']:.0f})",
                  file=sys.stderr, flush=True)  # fmt: skip
    finally:
        app.stop()
        hello.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nwrk, {args.connections} connections, {args.seconds} s per run, gunicorn "
        f"{args.workers} sync workers each, anonymous visitors, after a warm-up pass"
    )
    print(f"{'page':28} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
          f"{'non-2xx':>8} {'hello req/s':>12} {'of hello':>9}")  # fmt: skip
    for label, page, base_line in rows:
        print(
            f"{label:28} {page['rps']:9.1f} {page.get('p50', 0):8.1f} {page.get('p90', 0):8.1f} "
            f"{page.get('p99', 0):8.1f} {page['non2xx']:8d} {base_line['rps']:12.0f} "
            f"{100 * page['rps'] / base_line['rps']:8.1f}%"
        )
        if page["errors"]:
            print(f"  {label}: {page['errors']}")


if __name__ == "__main__":
    main()
