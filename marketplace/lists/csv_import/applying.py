"""Checking and applying a read file to one collector's list: rows parsed, matched
and de-duplicated, each planned as a new entry or an update of one already listed
(so an export imports back to the same list), then written in bulk, or not at all.

In "all_or_nothing" mode one bad row refuses the file; in "good_rows" mode the good
rows are written and the bad ones come back as a report. A dry run does all of it
but the writing. Progress goes to an optional callback (done, of).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from marketplace.core.errors import DomainError
from marketplace.core.models import utcnow
from marketplace.core.spreadsheet import write_rows
from marketplace.lists.csv_import.mapping import check_mapping
from marketplace.lists.csv_import.matching import (
    CHUNK,
    Ambiguity,
    entry_key,
    match_rows,
    without_duplicates,
)
from marketplace.lists.csv_import.reading import CsvFile
from marketplace.lists.csv_import.rows import Parsed, RowError, RowFault, parse_row
from marketplace.lists.models import Have, Want
from marketplace.lists.operations import HAVES, WANTS, ListKind, list_kind, note_list_change

MODES = ("all_or_nothing", "good_rows")
PREVIEW_ROWS = 20
WRITE_BATCH = 2000

Progress = Callable[[int, int], None]


@dataclass
class ImportResult:
    kind: str
    mode: str
    dry_run: bool
    encoding: str
    delimiter: str
    total: int = 0
    created: int = 0
    updated: int = 0
    applied: bool = False
    errors: list[RowError] = field(default_factory=list)
    ambiguous: list[Ambiguity] = field(default_factory=list)
    preview: list[Parsed] = field(default_factory=list)
    report: str | None = None

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors and not self.ambiguous

    @property
    def refused(self) -> bool:
        """Nothing was (or, in a dry run, would be) written because of bad rows."""
        return self.mode == "all_or_nothing" and not self.ok

    def problems(self) -> list[RowError]:
        """Every row not imported with its column and reason, in row order; an
        ambiguous row says which pins it could be."""
        found = list(self.errors)
        for amb in self.ambiguous:
            names = "; ".join(f"{c.ref} {c.title}" for c in amb.candidates[:5])
            found.append(
                RowError(
                    amb.row,
                    amb.column,
                    _(
                        "Several pins match '%(text)s': %(pins)s. Add the catalogue number.",
                        text=amb.text,
                        pins=names,
                    ),
                )
            )
        return sorted(found, key=lambda e: e.row)


class Importer:
    """Imports one read file into one collector's list."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def run(
        self,
        user_id: int,
        kind: str | ListKind,
        csv_file: CsvFile,
        mapping: dict[str, str],
        *,
        mode: str = "all_or_nothing",
        dry_run: bool = False,
        choices: dict[int, int] | None = None,
        progress: Progress | None = None,
    ) -> ImportResult:
        kind = list_kind(kind)
        if mode not in MODES:
            raise DomainError(_("Choose all_or_nothing or good_rows."), field="mode")
        mapping = check_mapping(mapping, csv_file.header, kind.name)
        result = ImportResult(
            kind=kind.name,
            mode=mode,
            dry_run=dry_run,
            encoding=csv_file.encoding,
            delimiter=csv_file.delimiter,
            total=len(csv_file.rows),
        )
        total = len(csv_file.rows) * 2  # parsing and matching, then writing
        tick = progress or (lambda done, of: None)
        tick(0, total)

        parsed: list[Parsed] = []
        for i, (number, cells) in enumerate(csv_file.rows, start=1):
            try:
                parsed.append(parse_row(kind, number, cells, csv_file.header, mapping))
            except RowFault as fault:
                result.errors.append(fault.error)
            if i % CHUNK == 0:
                tick(i // 2, total)
        matched, unmatched, result.ambiguous = match_rows(
            self.session, parsed, mapping, choices or {}
        )
        good, duplicates = without_duplicates(kind, matched, mapping)
        result.errors += unmatched + duplicates
        tick(len(csv_file.rows), total)

        result.errors.sort(key=lambda e: e.row)
        self._plan(user_id, kind, good)  # what would happen, shown by a dry run too
        if dry_run or not result.refused:
            result.created = sum(1 for p in good if p.action == "create")
            result.updated = sum(1 for p in good if p.action == "update")
        result.preview = good[:PREVIEW_ROWS]
        if not dry_run and not result.refused and good:
            self._apply(user_id, kind, good, lambda done: tick(len(csv_file.rows) + done, total))
            note_list_change(self.session, user_id)
            result.applied = True
        if result.errors or result.ambiguous:
            result.report = report_csv(csv_file, result)
        tick(total, total)
        return result

    def _existing(self, user_id: int, kind: ListKind) -> dict[tuple[Any, ...], int]:
        if kind is HAVES:
            rows = self.session.execute(
                select(Have.id, Have.pin_id, Have.condition, Have.defects).where(
                    Have.user_id == user_id
                )
            )
            return {(pin, int(cond), defects): id_ for id_, pin, cond, defects in rows}
        wants = self.session.execute(
            select(Want.id, Want.pin_id, Want.variant_group).where(Want.user_id == user_id)
        )
        return {(pin, group): id_ for id_, pin, group in wants}

    def _plan(self, user_id: int, kind: ListKind, good: list[Parsed]) -> None:
        existing = self._existing(user_id, kind)
        for p in good:
            id_ = existing.get(entry_key(kind, p))
            p.action = "create" if id_ is None else "update"
            if id_ is not None:
                p.values["id"] = id_

    def _apply(
        self, user_id: int, kind: ListKind, good: list[Parsed], tick: Callable[[int], None]
    ) -> None:
        model: Any = kind.model
        now = utcnow()
        creates, updates = [], []
        for p in good:
            values = dict(p.values)
            if p.action == "update":
                values["updated_at"] = now
                updates.append(values)
            else:
                values.update(user_id=user_id, pin_id=p.pin_id, created_at=now, updated_at=now)
                if kind is WANTS:
                    values["variant_group"] = p.variant_group
                creates.append(values)
        done = 0
        for start in range(0, len(creates), WRITE_BATCH):
            batch = creates[start : start + WRITE_BATCH]
            self.session.execute(insert(model.__table__), batch)
            done += len(batch)
            tick(done)
        for start in range(0, len(updates), WRITE_BATCH):
            batch = updates[start : start + WRITE_BATCH]
            self.session.execute(update(model), batch)
            done += len(batch)
            tick(done)
        self.session.expire_all()


def report_csv(csv_file: CsvFile, result: ImportResult) -> str:
    """The rows that were not imported, each with its row, column and reason,
    followed by the row as it was in the file (fix it and import the report)."""
    cells = dict(csv_file.rows)
    return write_rows([
        ["row", "column", "error", *csv_file.header],
        *([error.row, error.column or "", error.message, *cells.get(error.row, [])]
          for error in result.problems()),
    ])  # fmt: skip
