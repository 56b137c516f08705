"""Catalogue files: a CSV or JSON catalogue read from an upload (with the line or
row at fault), imported all-or-nothing with per-row errors, and the catalogue
exported as records and as CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import User
from marketplace.catalogue.models import Pin
from marketplace.catalogue.operations.pin_data import BOOL_FIELDS, EXPORT_COLUMNS, clean_pin_data
from marketplace.catalogue.operations.records import CatalogueRecords, record_of
from marketplace.core.errors import DomainError, InvalidInput
from marketplace.core.spreadsheet import read_cell, write_records

MAX_IMPORT_BYTES = 20 * 1024 * 1024


class CatalogueFiles(CatalogueRecords):
    """Importing and exporting many records at once."""

    def import_records(
        self, records: list[dict[str, Any]], user: User | None
    ) -> tuple[int, int, list[tuple[int, str, str]]]:
        """All or nothing: every row is checked first; if any row is wrong, nothing
        is written and every error comes back as (row, column, message). Rows whose
        ref exists update that pin; others create one. Returns (created, updated, [])."""
        errors: list[tuple[int, str, str]] = []
        seen: dict[str, int] = {}
        cleaned: list[dict[str, Any]] = []
        for row_number, record in enumerate(records, start=2):
            try:
                clean = clean_pin_data(record)
            except InvalidInput as exc:
                errors.extend((row_number, f, m) for f, ms in exc.errors.items() for m in ms)
                continue
            key = clean["ref"].lower()
            if key in seen:
                errors.append(
                    (row_number, "ref", _("Same catalogue number as row %(row)d.", row=seen[key]))
                )
            seen[key] = row_number
            cleaned.append(record)
        if errors:
            return 0, 0, errors
        existing = {
            p.ref.lower(): p
            for p in self.session.scalars(select(Pin).where(func.lower(Pin.ref).in_(list(seen))))
        }
        created = updated = 0
        for record in cleaned:
            pin = existing.get(str(record["ref"]).strip().lower())
            if pin is None:
                self.create(record, user, action="import")
                created += 1
            else:
                self.update(pin, record, user, action="import")
                updated += 1
        return created, updated, []

    def export_records(self) -> list[dict[str, Any]]:
        pins = self.session.scalars(
            select(Pin)
            .where(Pin.is_synthetic.is_(False))
            .options(selectinload(Pin.themes), selectinload(Pin.series))
            .order_by(Pin.ref)
        )
        return [record_of(pin) for pin in pins]


def records_to_csv(records: list[dict[str, Any]]) -> str:
    rows = []
    for record in records:
        row = dict(record)
        for key in ("printed_refs", "themes"):
            row[key] = "|".join(row.get(key) or [])
        for key in BOOL_FIELDS:
            if row.get(key) is not None:
                row[key] = "yes" if row[key] else "no"
        rows.append(row)
    return write_records(rows, EXPORT_COLUMNS)


def parse_catalogue_file(data: bytes, filename: str) -> list[dict[str, Any]]:
    """Records from an uploaded CSV or JSON catalogue file; raises DomainError
    with the line or row at fault."""
    if len(data) > MAX_IMPORT_BYTES:
        raise DomainError(
            _("The file is larger than %(mb)d MB.", mb=MAX_IMPORT_BYTES // 1_048_576), field="file"
        )
    if not data.strip():
        raise DomainError(_("The file is empty."), field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError(
            _(
                "The file is not UTF-8 (byte %(byte)d); save it as UTF-8 and try again.",
                byte=exc.start,
            ),
            field="file",
        ) from None
    if filename.lower().endswith(".json") or text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DomainError(
                _(
                    "Invalid JSON at line %(line)d, column %(column)d: %(error)s.",
                    line=exc.lineno,
                    column=exc.colno,
                    error=exc.msg,
                ),
                field="file",
            ) from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise DomainError(_("A JSON catalogue is a list of objects."), field="file")
        return records
    reader = csv.DictReader(io.StringIO(text))
    missing = {"ref", "title_en"} - set(reader.fieldnames or [])
    if missing:
        raise DomainError(
            _(
                "The header row lacks the column(s): %(columns)s.",
                columns=", ".join(sorted(missing)),
            ),
            field="file",
        )
    unknown = set(reader.fieldnames or []) - set(EXPORT_COLUMNS)
    if unknown:
        raise DomainError(
            _("Unknown column(s): %(columns)s.", columns=", ".join(sorted(unknown))), field="file"
        )
    return [
        {k: read_cell(v) if isinstance(v, str) else v for k, v in row.items() if k is not None}
        for row in reader
    ]
