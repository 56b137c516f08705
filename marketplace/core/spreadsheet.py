"""CSV cells that are safe to open in a spreadsheet, and read back exactly.

A cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (`=HYPERLINK(…)` in a pin title a
moderator exports). Following OWASP's rule, such a cell is written with a leading
apostrophe, which spreadsheets show as text. Reading strips exactly that apostrophe,
so an exported file imports back identically; a cell that already began with an
apostrophe before a formula character gets a second one, so it survives too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _looks_like_formula(text: str) -> bool:
    return text.lstrip("'").startswith(FORMULA_STARTS)


def safe_cell(value: Any) -> str:
    """The cell as written: an apostrophe in front of anything a spreadsheet
    would run."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) or (text.startswith("'") and _looks_like_formula(text)):
        return "'" + text
    return text


def read_cell(text: str) -> str:
    """The value a `safe_cell` wrote."""
    if text.startswith("'") and _looks_like_formula(text):
        return text[1:]
    return text


def write_rows(rows: Iterable[Sequence[Any]], **fmt: Any) -> str:
    """Rows as CSV text, every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out, **fmt)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def write_records(records: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Records as CSV text with a header row, every cell made safe."""
    return write_rows([list(columns), *([r.get(c) for c in columns] for r in records)])
