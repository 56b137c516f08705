"""Reading an uploaded CSV: the text (through the upload guard's encoding checks),
the delimiter (comma, semicolon or tab, read off the header row) and the rows, each
with its number in the file (the header is row 1)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from flask_babel import gettext as _

from marketplace.core.errors import DomainError
from marketplace.core.spreadsheet import read_cell
from marketplace.lists.uploads import decode_upload

MAX_ROWS = 100_000


@dataclass(frozen=True)
class CsvFile:
    encoding: str
    delimiter: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number, cells); the header is row 1


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: whichever splits the header row most, outside quotes."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", first)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    best = max(counts.values())
    if best == 0:
        return ","
    tied = [d for d, n in counts.items() if n == best]
    if len(tied) == 1:
        return tied[0]
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters="".join(tied)).delimiter
    except csv.Error:
        return tied[0]


def read_csv(data: bytes, encoding: str | None = None) -> CsvFile:
    text, used = decode_upload(data, encoding)
    return parse_text(text, used)


def parse_text(text: str, encoding: str, delimiter: str | None = None) -> CsvFile:
    text = text.lstrip("\ufeff")
    delimiter = delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            if header is None:
                header = _unique_header(cells)
                continue
            if not any(c.strip() for c in cells):
                continue
            rows.append((number, [read_cell(c) for c in cells]))
            if len(rows) > MAX_ROWS:
                raise DomainError(_("At most %(max)d rows per file.", max=MAX_ROWS), field="file")
    except csv.Error as exc:
        raise DomainError(
            _("Row %(row)d: the CSV is malformed (%(error)s).", row=reader.line_num, error=exc),
            field="file",
        ) from None
    if header is None or not any(h.strip() for h in header):
        raise DomainError(_("The file is empty."), field="file")
    if not rows:
        raise DomainError(_("The file has a header row but no data rows."), field="file")
    return CsvFile(encoding=encoding, delimiter=delimiter, header=header, rows=rows)


def _unique_header(cells: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    header = []
    for i, cell in enumerate(cells, start=1):
        name = cell.strip() or f"column {i}"
        seen[name] = seen.get(name, 0) + 1
        header.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return header
