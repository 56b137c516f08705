"""Benchmark ``tradematch`` on the shared math-trade files and a generated one.

Runs the command as a subprocess per file (the whole process is what users
wait for) and prints trades, users trading, wall seconds (the median of
``--runs`` runs) and peak memory next to the reference solvers' figures from
``expected.json``. Not a test: it prints a table.

    .venv/bin/python benchmarks/tradematch_bench.py [--shared DIR] [--no-large] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "mathtrade"

# Runs one command and reports its own children's peak RSS, so each file's
# figure is its own and not the maximum over the whole benchmark.
_WRAPPER = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:]).returncode
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{code} {wall:.3f} {peak}")
"""


def run(wants: Path, runs: int = 1) -> tuple[int, float, float, str]:
    """Trades, median wall seconds, peak MB and the report of ``runs`` runs."""
    results = [_run_once(wants) for _ in range(runs)]
    trades, _, _, report = results[-1]
    wall = statistics.median(r[1] for r in results)
    return trades, wall, max(r[2] for r in results), report


def _run_once(wants: Path) -> tuple[int, float, float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.txt"
        cmd = [sys.executable, "-m", "marketplace.cli.tradematch", str(wants), "-o", str(out)]
        done = subprocess.run(
            [sys.executable, "-c", _WRAPPER, *cmd],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        code, wall, peak_kb = done.stdout.split()
        if code != "0":
            sys.stderr.write(done.stderr)
            raise SystemExit(f"tradematch failed on {wants}")
        report = out.read_text(encoding="utf-8")
    trades = int(re.search(r"^Num trades\s+= (\d+)", report, re.M)[1])  # type: ignore[index]
    return trades, float(wall), int(peak_kb) / 1024, report


def users_trading(report: str) -> int | None:
    loops = report.split("TRADE LOOPS", 1)[1].split("ITEM SUMMARY", 1)[0]
    users = {m[1] for m in re.finditer(r"^\((.*?)\)", loops, re.M)}
    return len(users) or None


def fmt(value: object) -> str:
    return "-" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="math-trade dir")
    parser.add_argument("--no-large", action="store_true", help="skip the generated file")
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--edges", type=int, default=280_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="runs per file (median wall)")
    args = parser.parse_args(argv)

    header = (
        f"{'file':<15} {'trades':>6} {'ref':>5} {'users':>5} {'TM':>4} {'FTM':>4}"
        f" {'secs':>6} {'TM s':>5} {'FTM s':>5} {'MB':>6} {'TM MB':>5}"
    )
    print(header)
    print("-" * len(header))
    expected_file = args.shared / "expected.json"
    if expected_file.is_file():
        expected = json.loads(expected_file.read_text(encoding="utf-8"))
        for name, info in expected.items():
            trades, wall, peak, report = run(args.shared / f"{name}.txt", args.runs)
            tm = info["reference_trademaximizer_1_3c"]
            ftm = info["reference_fasttrademaximizer"] or {}
            flag = "" if trades == tm["trades"] else "  <-- MISMATCH"
            print(
                f"{name:<15} {trades:>6} {tm['trades']:>5} {fmt(users_trading(report)):>5}"
                f" {fmt(tm['users_trading']):>4} {fmt(ftm.get('users_trading')):>4}"
                f" {wall:>6.2f} {tm['wall_s']:>5} {fmt(ftm.get('wall_s')):>5}"
                f" {peak:>6.0f} {tm['max_rss_mb']:>5}{flag}"
            )
    else:
        print(f"(no shared files at {args.shared})")

    if not args.no_large:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from gen_wantlist import generate

        with tempfile.TemporaryDirectory() as tmp:
            big = Path(tmp) / "generated.txt"
            started = time.perf_counter()
            big.write_text(generate(args.items, args.edges, 300, args.seed), encoding="utf-8")
            gen_s = time.perf_counter() - started
            trades, wall, peak, report = run(big, args.runs)
            name = f"gen {args.items}/{args.edges // 1000}k"
            print(
                f"{name:<15} {trades:>6} {'-':>5} {fmt(users_trading(report)):>5} {'-':>4}"
                f" {'-':>4} {wall:>6.2f} {'-':>5} {'-':>5} {peak:>6.0f} {'-':>5}"
                f"   (generated in {gen_s:.1f}s)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
