"""Benchmark short rings: ``tradematch`` uncapped, then with each cycle cap.

For every shared math-trade file (and a generated one of 3,000 items and
280,000 wants) runs ``znachki tradematch --json`` as a subprocess per cap (the
whole process is what a moderator waits for) and prints trades, users
trading, wall and processor seconds and the certificate: ``optimal``, or the bound on
trades and the gap. Not a test: it prints a table.

    .venv/bin/python benchmarks/capped_bench.py [--shared DIR] [--caps 3,4]
        [--time-limit 60] [--no-large] [--only-large]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "mathtrade"
FILES = ["tm_ask_2007", "tm_xmas_2007", "tm_onewant", "olwlg_286103", "olwlg_286870",
         "ftm_BR2024May"]  # fmt: skip


def solve(wants: Path, cap: int | None, time_limit: float) -> dict[str, object]:
    """The ``--json`` summary of one run, with its wall seconds."""
    command = [sys.executable, "-m", "marketplace.cli.tradematch", str(wants), "--json"]
    if cap is not None:
        command += ["--max-cycle", str(cap), "--time-limit", str(time_limit)]
    started = time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Processor seconds too: on a shared machine the wall clock says little.
    cpu_seconds = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:], "wall": wall, "cpu": cpu_seconds}
    summary: dict[str, object] = json.loads(done.stdout)
    summary["wall"] = wall
    summary["cpu"] = cpu_seconds
    return summary


def certificate(summary: dict[str, object]) -> str:
    if "error" in summary:
        return f"error: {summary['error']}"
    cert = summary.get("certificate")
    if not isinstance(cert, dict):
        return "optimal trades (assignment)"
    if cert["status"] == "optimal":
        return "optimal"
    if cert["gap"]:
        return f"bound {cert['trades_bound']}, gap {float(cert['gap']):.1%}"  # type: ignore[arg-type]
    return "trades optimal; " + "; ".join(cert["notes"])  # type: ignore[arg-type]


def row(name: str, cap: int | None, summary: dict[str, object]) -> str:
    users = summary.get("users_trading")
    return (
        f"{name:<16} {'-' if cap is None else cap:>3} {summary.get('trades', '-')!s:>6}"
        f" {'-' if users is None else users!s:>5} {summary['wall']:>7.1f} {summary['cpu']:>7.1f}"
        f"  {certificate(summary)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="math-trade dir")
    parser.add_argument("--caps", default="3,4", help="comma-separated cycle caps")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--no-large", action="store_true", help="skip the generated file")
    parser.add_argument("--only-large", action="store_true", help="only the generated file")
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--edges", type=int, default=280_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    caps: list[int | None] = [None, *(int(c) for c in args.caps.split(","))]

    header = (
        f"{'file':<16} {'cap':>3} {'trades':>6} {'users':>5} {'secs':>7} {'cpu':>7}  certificate"
    )
    print(header)
    print("-" * 72)
    if not args.only_large:
        for name in FILES:
            wants = args.shared / f"{name}.txt"
            if not wants.is_file():
                print(f"{name:<16} (not found in {args.shared})")
                continue
            for cap in caps:
                print(row(name, cap, solve(wants, cap, args.time_limit)), flush=True)
    if not args.no_large:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from gen_wantlist import generate

        with tempfile.TemporaryDirectory() as tmp:
            big = Path(tmp) / "generated.txt"
            big.write_text(generate(args.items, args.edges, 300, args.seed), encoding="utf-8")
            name = f"gen {args.items}/{args.edges // 1000}k"
            for cap in caps:
                print(row(name, cap, solve(big, cap, args.time_limit)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
