"""Fixtures for the pure matching-engine tests (no database needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Registered, not loaded: the profile applies only to tests that ask for it
# (``@settings(settings.get_profile("matching"))``), not the whole session.
settings.register_profile(
    "matching",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)

REPO_ROOT = Path(__file__).resolve().parents[2]
# Beside the checkout, or wherever MATHTRADE_DIR says (a worktree elsewhere).
SHARED = Path(os.environ.get("MATHTRADE_DIR") or REPO_ROOT.parent / "shared" / "mathtrade")


@pytest.fixture(scope="session")
def mathtrade_dir() -> Path:
    if not (SHARED / "expected.json").is_file():
        pytest.skip(f"shared math-trade files not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def expected(mathtrade_dir: Path) -> dict[str, dict]:
    return json.loads((mathtrade_dir / "expected.json").read_text(encoding="utf-8"))
