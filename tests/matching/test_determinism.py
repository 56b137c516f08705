"""The same want-list file gives the same result file, however busy the machine.

Every budget that shapes a result is counted in work (rounds, nodes, a fixed
seed and one thread), never in seconds: a solve beside processes that burn
every core must write the very bytes a quiet solve writes.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Usernames, dummies and owners with many items: the users-trading rounds
# and the capped program both have work to do. No SHOW-ELAPSED-TIME, whose
# line is the one a file asks to differ.
FILE = "tm_onewant"


def solve(wants: Path, out: Path, *options: str) -> bytes:
    command = [sys.executable, "-m", "marketplace.cli.tradematch", str(wants), "-o", str(out)]
    done = subprocess.run([*command, *options], cwd=REPO, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return out.read_bytes()


@contextmanager
def busy_cores(count: int) -> Iterator[None]:
    """``count`` processes spinning on the CPU for as long as the block runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


# The wall-clock limit is only a safety net (a result it cuts says so); a
# generous one leaves the work budgets alone to decide, as they must.
CAPPED = ("--time-limit", "600", "--max-cycle")


@pytest.mark.parametrize("options", [(), (*CAPPED, "3"), (*CAPPED, "4")])
def test_result_file_is_byte_identical_under_cpu_contention(
    options: tuple[str, ...], mathtrade_dir: Path, tmp_path: Path
) -> None:
    wants = mathtrade_dir / f"{FILE}.txt"
    quiet = solve(wants, tmp_path / "quiet.txt", *options)
    with busy_cores(6):
        loaded = solve(wants, tmp_path / "loaded.txt", *options)
    assert b"Num trades" in quiet
    assert loaded == quiet
