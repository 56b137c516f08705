"""The suite's own layout: tests share code through tests/support only; no test
module (nor conftest.py) is imported by another module."""

from __future__ import annotations

import ast

from tests.support.app import ROOT

TESTS = ROOT / "tests"


def _imported_modules(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_imports_a_test_module_or_a_conftest() -> None:
    offenders = {}
    for path in sorted([*TESTS.rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]):
        wrong = {
            name
            for name in _imported_modules(path.read_text(encoding="utf-8"))
            if name.startswith("tests.")
            and any(part.startswith("test_") or part == "conftest" for part in name.split("."))
        }
        if wrong:
            offenders[str(path.relative_to(ROOT))] = sorted(wrong)
    assert offenders == {}
