"""CSV import and export of Have and Want lists.

Import is decode → map columns → parse rows → match pins → apply:

- the bytes are read as UTF-8 (with or without a BOM) or, failing that, Windows-1251
  (what Excel in a Russian locale writes), unless the collector names the encoding;
- the delimiter (comma, semicolon or tab) is read off the header row;
- columns are mapped to fields by name (English and Russian headings), or as the
  collector last mapped them;
- rows match pins by catalogue number (case-insensitive), else by legend,
  transliteration or title; several candidates are an ambiguity the collector
  resolves by choosing a pin for that row;
- a row for a pin already listed (same pin, condition and defects; same pin for
  Wants) updates that entry, so an export imports back to the same lists.

Every problem names its row (the header is row 1), its column and the reason. In
"all_or_nothing" mode one bad row refuses the file; in "good_rows" mode the good
rows are imported and the bad ones come back as a downloadable report. Lookups and
writes are done in bulk (no query per row).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.catalogue.models import Pin
from marketplace.catalogue.transliteration import fold, words
from marketplace.core import outbox
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.models import utcnow
from marketplace.lists.models import Condition, Have, ImportMapping, ListImport, Want
from marketplace.lists.operations import (
    check_notes,
    check_priority,
    check_quantity,
    defect_slugs,
    note_list_change,
    parse_condition,
    parse_defects,
    parse_money,
)

MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
MAX_REPORTED_ERRORS = 1000
CHUNK = 500
RUN_TASK = "workers.tasks.run_list_import"
KINDS = ("haves", "wants")
MODES = ("all_or_nothing", "good_rows")

FIELDS: dict[str, tuple[str, ...]] = {
    "haves": (
        "ref", "title", "legend", "quantity", "condition", "defects", "tradeable", "price",
        "currency", "notes",
    ),
    "wants": (
        "ref", "any_variant", "title", "legend", "priority", "min_condition", "max_price",
        "currency", "notes",
    ),
}  # fmt: skip
FIELD_LABELS = {
    "ref": "Catalogue number",
    "any_variant": "Any variant (yes/no)",
    "title": "Title",
    "legend": "Legend (inscription)",
    "quantity": "Quantity",
    "condition": "Condition",
    "defects": "Defects",
    "tradeable": "Tradeable (yes/no)",
    "price": "Asking price",
    "currency": "Currency",
    "notes": "Notes",
    "priority": "Priority (1–5)",
    "min_condition": "Minimum condition",
    "max_price": "Maximum price",
}
# Headings people actually use, folded; the field's own name always works too.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ref": ("ref", "catalogue number", "catalog number", "catalogue no", "cat no", "number",
            "no", "номер", "каталожный номер", "номер по каталогу", "артикул"),
    "any_variant": ("any variant", "any_variant", "variant", "любой вариант"),
    "title": ("title", "name", "pin", "название", "наименование"),
    "legend": ("legend", "inscription", "text", "надпись", "легенда"),
    "quantity": ("quantity", "qty", "count", "количество", "кол-во", "кол во", "шт"),
    "condition": ("condition", "grade", "состояние", "сохранность"),
    "defects": ("defects", "faults", "дефекты"),
    "tradeable": ("tradeable", "tradable", "for trade", "trade", "обмен"),
    "price": ("price", "asking price", "цена"),
    "currency": ("currency", "валюта"),
    "notes": ("notes", "note", "comment", "comments", "примечание", "комментарий"),
    "priority": ("priority", "приоритет"),
    "min_condition": ("min condition", "minimum condition", "мин состояние"),
    "max_price": ("max price", "maximum price", "макс цена"),
}  # fmt: skip
YES = {"yes", "y", "true", "1", "да", "д", "x", "+"}
NO = {"no", "n", "false", "0", "нет", "н", "-"}

Progress = Callable[[int, int], None]


class FileTooLarge(DomainError):
    status = 413
    code = "too_large"


@dataclass(frozen=True)
class CsvFile:
    encoding: str
    delimiter: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number, cells); the header is row 1


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class Candidate:
    id: int
    ref: str
    title: str


@dataclass(frozen=True)
class Ambiguity:
    row: int
    column: str | None
    text: str
    candidates: list[Candidate]


@dataclass
class Parsed:
    row: int
    values: dict[str, Any]
    ref: str | None = None
    any_variant: bool = False
    text: str | None = None  # legend or title, for matching without a number
    text_column: str | None = None
    pin_id: int | None = None
    variant_group: str | None = None
    action: str = ""


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


# -- reading the file ----------------------------------------------------------------


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of an uploaded file and the encoding it was read with."""
    if len(data) > MAX_IMPORT_BYTES:
        raise FileTooLarge(
            f"The file is {len(data) / 1_048_576:.1f} MB; the limit is "
            f"{MAX_IMPORT_BYTES // 1_048_576} MB. Split it into smaller files.",
            field="file",
        )
    if not data.strip():
        raise DomainError("The file is empty.", field="file")
    if b"\x00" in data[:4096]:
        raise DomainError(
            "This is not a text CSV file (it looks binary or UTF-16); save it as "
            "CSV in UTF-8 or Windows-1251.",
            field="file",
        )
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (LookupError, UnicodeDecodeError) as exc:
            raise DomainError(
                f"The file cannot be read as {encoding}: {exc}.", field="file"
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise DomainError(f"The file is not valid UTF-8: {exc}.", field="file") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251"), "cp1251"
    except UnicodeDecodeError:
        raise DomainError(
            "The file is neither UTF-8 nor Windows-1251; choose its encoding.", field="encoding"
        ) from None


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
    text, used = decode(data, encoding)
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
            rows.append((number, cells))
            if len(rows) > MAX_ROWS:
                raise DomainError(f"At most {MAX_ROWS} rows per file.", field="file")
    except csv.Error as exc:
        raise DomainError(
            f"Row {reader.line_num}: the CSV is malformed ({exc}).", field="file"
        ) from None
    if header is None or not any(h.strip() for h in header):
        raise DomainError("The file is empty.", field="file")
    if not rows:
        raise DomainError("The file has a header row but no data rows.", field="file")
    return CsvFile(encoding=encoding, delimiter=delimiter, header=header, rows=rows)


def _unique_header(cells: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    header = []
    for i, cell in enumerate(cells, start=1):
        name = cell.strip() or f"column {i}"
        seen[name] = seen.get(name, 0) + 1
        header.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return header


# -- mapping -------------------------------------------------------------------------


def _key(text: str) -> str:
    return re.sub(r"[\s_\-.:()/]+", " ", fold(text)).strip()


def auto_mapping(
    header: Sequence[str], kind: str, remembered: dict[str, Any] | None = None
) -> dict[str, str]:
    """field → column heading: the collector's last mapping where its columns are
    present, else headings recognised by name."""
    present = set(header)
    mapping: dict[str, str] = {}
    for name, column in (remembered or {}).items():
        if name in FIELDS[kind] and column in present:
            mapping[name] = column
    by_key = {_key(h): h for h in header}
    for name in FIELDS[kind]:
        if name in mapping:
            continue
        for synonym in (name, *SYNONYMS.get(name, ())):
            column = by_key.get(_key(synonym))
            if column is not None and column not in mapping.values():
                mapping[name] = column
                break
    return mapping


def check_mapping(mapping: dict[str, Any], header: Sequence[str], kind: str) -> dict[str, str]:
    clean: dict[str, str] = {}
    for name, column in mapping.items():
        if not column:
            continue
        if name not in FIELDS[kind]:
            raise DomainError(f"Unknown field '{name}'.", field="mapping")
        if column not in header:
            raise DomainError(f"The file has no column '{column}'.", field="mapping")
        clean[name] = column
    if not {"ref", "title", "legend"} & clean.keys():
        raise DomainError(
            "Map at least one of the catalogue number, title or legend columns.", field="mapping"
        )
    return clean


def remembered_mapping(session: Session, user_id: int, kind: str) -> dict[str, Any]:
    row = session.scalar(
        select(ImportMapping).where(ImportMapping.user_id == user_id, ImportMapping.kind == kind)
    )
    return dict(row.mapping) if row else {}


def remember_mapping(session: Session, user_id: int, kind: str, mapping: dict[str, str]) -> None:
    row = session.scalar(
        select(ImportMapping).where(ImportMapping.user_id == user_id, ImportMapping.kind == kind)
    )
    if row is None:
        session.add(ImportMapping(user_id=user_id, kind=kind, mapping=mapping))
    else:
        row.mapping = dict(mapping)
    session.flush()


# -- parsing rows --------------------------------------------------------------------


def _flag(value: str, default: bool) -> bool:
    key = fold(value).strip()
    if not key:
        return default
    if key in YES:
        return True
    if key in NO:
        return False
    raise DomainError(f"'{value}' is not yes or no.")


def parse_row(
    kind: str, number: int, cells: list[str], header: list[str], mapping: dict[str, str]
) -> Parsed:
    """One row's values, checked; raises RowError-carrying DomainError via `_RowFault`."""
    index = {name: header.index(column) for name, column in mapping.items()}
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        raise _RowFault(
            number, None, f"The row has {len(cells)} cells but the header has {len(header)}."
        )

    def raw(name: str) -> str:
        i = index.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    def checked(name: str, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except DomainError as exc:
            column = mapping.get(exc.field or name) or mapping.get(name)
            raise _RowFault(number, column, exc.message) from None

    parsed = Parsed(row=number, values={})
    parsed.ref = raw("ref") or None
    legend, title = raw("legend"), raw("title")
    if legend:
        parsed.text, parsed.text_column = legend, mapping.get("legend")
    elif title:
        parsed.text, parsed.text_column = title, mapping.get("title")
    if not parsed.ref and not parsed.text:
        column = mapping.get("ref") or mapping.get("legend") or mapping.get("title")
        raise _RowFault(number, column, "Give a catalogue number, a legend or a title.")
    v = parsed.values
    if kind == "haves":
        v["quantity"] = checked("quantity", lambda: check_quantity(raw("quantity") or 1))
        v["condition"] = checked(
            "condition", lambda: parse_condition(raw("condition") or Condition.FINE)
        )
        v["defects"] = checked("defects", lambda: parse_defects(raw("defects")))
        v["tradeable"] = checked("tradeable", lambda: _flag(raw("tradeable"), True))
        v["price"], v["currency"] = checked(
            "price", lambda: parse_money(raw("price"), raw("currency"))
        )
    else:
        parsed.any_variant = checked("any_variant", lambda: _flag(raw("any_variant"), False))
        if parsed.any_variant and not parsed.ref:
            raise _RowFault(number, mapping.get("ref"), "'Any variant' needs a catalogue number.")
        v["priority"] = checked("priority", lambda: check_priority(raw("priority") or 3))
        v["min_condition"] = checked(
            "min_condition",
            lambda: (
                parse_condition(raw("min_condition"), "min_condition")
                if raw("min_condition")
                else None
            ),
        )
        v["max_price"], v["currency"] = checked(
            "max_price", lambda: parse_money(raw("max_price"), raw("currency"), field="max_price")
        )
    v["notes"] = checked("notes", lambda: check_notes(raw("notes")))
    return parsed


class _RowFault(Exception):
    def __init__(self, row: int, column: str | None, message: str) -> None:
        super().__init__(message)
        self.error = RowError(row, column, message)


# -- matching ------------------------------------------------------------------------


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _lookup_refs(session: Session, refs: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(refs)):
        for pin_id, ref in session.execute(
            select(Pin.id, Pin.ref).where(func.lower(Pin.ref).in_(chunk))
        ):
            found[ref.lower()] = pin_id
    return found


def _lookup_groups(session: Session, groups: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(groups)):
        for (group,) in session.execute(
            select(Pin.variant_group).where(func.lower(Pin.variant_group).in_(chunk)).distinct()
        ):
            found[group.lower()] = group
    return found


def find_by_text(session: Session, text: str, limit: int = 20) -> list[Candidate]:
    """Pins whose indexed title spellings contain every word of `text`, the ones
    whose legend, transliteration or title equals it exactly first."""
    terms = [w for w in words(text) if w]
    if not terms:
        return []
    padded = " " + Pin.search_title + " "
    query = select(Pin.id, Pin.ref, Pin.title_en, Pin.legend, Pin.transliteration)
    for term in terms[:8]:
        query = query.where(padded.like(f"% {_escape_like(term)} %", escape="\\"))
    rows = session.execute(query.order_by(Pin.ref).limit(limit)).all()
    wanted = fold(text).strip()
    exact = [
        r
        for r in rows
        if wanted in {fold(x or "").strip() for x in (r.legend, r.title_en, r.transliteration)}
    ]
    chosen = exact or rows
    return [Candidate(r.id, r.ref, r.title_en) for r in chosen]


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- the import ----------------------------------------------------------------------


class Importer:
    """Imports one decoded file into one collector's list."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def run(
        self,
        user_id: int,
        kind: str,
        csv_file: CsvFile,
        mapping: dict[str, str],
        *,
        mode: str = "all_or_nothing",
        dry_run: bool = False,
        choices: dict[int, int] | None = None,
        progress: Progress | None = None,
    ) -> ImportResult:
        if kind not in KINDS:
            raise DomainError("Import into haves or wants.", field="kind")
        if mode not in MODES:
            raise DomainError("Choose all_or_nothing or good_rows.", field="mode")
        mapping = check_mapping(mapping, csv_file.header, kind)
        result = ImportResult(
            kind=kind,
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
            except _RowFault as fault:
                result.errors.append(fault.error)
            if i % CHUNK == 0:
                tick(i // 2, total)
        self._match(kind, parsed, mapping, result, choices or {})
        good = self._deduplicate(kind, parsed, mapping, result)
        tick(len(csv_file.rows), total)

        result.errors.sort(key=lambda e: e.row)
        refused = mode == "all_or_nothing" and not result.ok
        self._plan(user_id, kind, good)  # what would happen, shown by a dry run too
        if dry_run or not refused:
            result.created = sum(1 for p in good if p.action == "create")
            result.updated = sum(1 for p in good if p.action == "update")
        result.preview = good[:20]
        if not dry_run and not refused and good:
            self._apply(user_id, kind, good, lambda done: tick(len(csv_file.rows) + done, total))
            note_list_change(self.session, user_id)
            result.applied = True
        if result.errors or result.ambiguous:
            result.report = report_csv(csv_file, result)
        tick(total, total)
        return result

    def _match(
        self,
        kind: str,
        parsed: list[Parsed],
        mapping: dict[str, str],
        result: ImportResult,
        choices: dict[int, int],
    ) -> None:
        refs = {p.ref.lower() for p in parsed if p.ref and not p.any_variant}
        groups = {p.ref.lower() for p in parsed if p.ref and p.any_variant}
        by_ref = _lookup_refs(self.session, refs) if refs else {}
        by_group = _lookup_groups(self.session, groups) if groups else {}
        by_text: dict[str, list[Candidate]] = {}
        ref_column = mapping.get("ref")
        for p in parsed:
            if p.ref and p.any_variant:
                p.variant_group = by_group.get(p.ref.lower())
                if p.variant_group is None:
                    result.errors.append(
                        RowError(p.row, ref_column, f"Unknown catalogue number '{p.ref}'.")
                    )
                continue
            if p.ref:
                p.pin_id = by_ref.get(p.ref.lower())
                if p.pin_id is None and not p.text:
                    result.errors.append(
                        RowError(p.row, ref_column, f"Unknown catalogue number '{p.ref}'.")
                    )
                if p.pin_id is not None or not p.text:
                    continue
            assert p.text is not None
            if p.text not in by_text:
                by_text[p.text] = find_by_text(self.session, p.text)
            candidates = by_text[p.text]
            chosen = choices.get(p.row)
            if chosen is not None and any(c.id == chosen for c in candidates):
                p.pin_id = chosen
            elif len(candidates) == 1:
                p.pin_id = candidates[0].id
            elif not candidates:
                what = f"catalogue number '{p.ref}' or " if p.ref else ""
                result.errors.append(
                    RowError(
                        p.row, p.text_column, f"No pin in the catalogue matches {what}'{p.text}'."
                    )
                )
            else:
                result.ambiguous.append(Ambiguity(p.row, p.text_column, p.text, candidates))
        matched_rows = {a.row for a in result.ambiguous} | {e.row for e in result.errors}
        parsed[:] = [p for p in parsed if p.row not in matched_rows]

    def _deduplicate(
        self, kind: str, parsed: list[Parsed], mapping: dict[str, str], result: ImportResult
    ) -> list[Parsed]:
        first: dict[tuple[Any, ...], int] = {}
        good = []
        column = mapping.get("ref") or mapping.get("legend") or mapping.get("title")
        for p in parsed:
            key = self._key(kind, p)
            if key in first:
                what = "pin, condition and defects" if kind == "haves" else "pin"
                result.errors.append(
                    RowError(p.row, column, f"Duplicate of row {first[key]} (same {what}).")
                )
                continue
            first[key] = p.row
            good.append(p)
        return good

    @staticmethod
    def _key(kind: str, p: Parsed) -> tuple[Any, ...]:
        if kind == "haves":
            return (p.pin_id, int(p.values["condition"]), p.values["defects"])
        return (p.pin_id, p.variant_group)

    def _existing(self, user_id: int, kind: str) -> dict[tuple[Any, ...], int]:
        if kind == "haves":
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

    def _plan(self, user_id: int, kind: str, good: list[Parsed]) -> None:
        existing = self._existing(user_id, kind)
        for p in good:
            id_ = existing.get(self._key(kind, p))
            p.action = "create" if id_ is None else "update"
            if id_ is not None:
                p.values["id"] = id_

    def _apply(
        self, user_id: int, kind: str, good: list[Parsed], tick: Callable[[int], None]
    ) -> None:
        model: Any = Have if kind == "haves" else Want
        now = utcnow()
        creates, updates = [], []
        for p in good:
            values = dict(p.values)
            if p.action == "update":
                values["updated_at"] = now
                updates.append(values)
            else:
                values.update(
                    user_id=user_id,
                    pin_id=p.pin_id,
                    created_at=now,
                    updated_at=now,
                )
                if kind == "wants":
                    values["variant_group"] = p.variant_group
                creates.append(values)
        done = 0
        for start in range(0, len(creates), 2000):
            batch = creates[start : start + 2000]
            self.session.execute(insert(model.__table__), batch)
            done += len(batch)
            tick(done)
        for start in range(0, len(updates), 2000):
            batch = updates[start : start + 2000]
            self.session.execute(update(model), batch)
            done += len(batch)
            tick(done)
        self.session.expire_all()


def report_csv(csv_file: CsvFile, result: ImportResult) -> str:
    """The rows that were not imported, each with its row, column and reason,
    followed by the row as it was in the file (fix it and import the report)."""
    problems: dict[int, list[RowError]] = {}
    for error in result.errors:
        problems.setdefault(error.row, []).append(error)
    for amb in result.ambiguous:
        names = "; ".join(f"{c.ref} {c.title}" for c in amb.candidates[:5])
        problems.setdefault(amb.row, []).append(
            RowError(
                amb.row,
                amb.column,
                f"Several pins match '{amb.text}': {names}. Add the catalogue number.",
            )
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "error", *csv_file.header])
    cells = dict(csv_file.rows)
    for row in sorted(problems):
        for error in problems[row]:
            writer.writerow([row, error.column or "", error.message, *cells.get(row, [])])
    return out.getvalue()


# -- export --------------------------------------------------------------------------


def export_rows(session: Session, user_id: int, kind: str) -> list[list[str]]:
    if kind == "haves":
        haves = session.execute(
            select(Have, Pin.ref, Pin.title_en, Pin.legend)
            .join(Pin, Pin.id == Have.pin_id)
            .where(Have.user_id == user_id)
            .order_by(Pin.ref, Have.condition.desc(), Have.defects)
        ).all()
        rows = [list(FIELDS["haves"])]
        for h, ref, title, legend in haves:
            rows.append([
                ref, title, legend or "", str(h.quantity), h.condition.label,
                "|".join(defect_slugs(h.defects)), "yes" if h.tradeable else "no",
                _money(h.price), h.currency or "", h.notes or "",
            ])  # fmt: skip
        return rows
    wants = session.execute(
        select(Want, Pin.ref, Pin.title_en, Pin.legend)
        .outerjoin(Pin, Pin.id == Want.pin_id)
        .where(Want.user_id == user_id)
        .order_by(func.coalesce(Pin.ref, Want.variant_group))
    ).all()
    rows = [list(FIELDS["wants"])]
    for w, ref, title, legend in wants:
        rows.append([
            ref or w.variant_group or "", "yes" if w.variant_group else "no", title or "",
            legend or "", str(w.priority), w.min_condition.label if w.min_condition else "",
            _money(w.max_price), w.currency or "", w.notes or "",
        ])  # fmt: skip
    return rows


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def export_csv(session: Session, user_id: int, kind: str) -> str:
    """The list as CSV (UTF-8 with a BOM, which spreadsheets need to see Cyrillic)."""
    if kind not in KINDS:
        raise DomainError("Export haves or wants.", field="kind")
    out = io.StringIO()
    csv.writer(out).writerows(export_rows(session, user_id, kind))
    return "\ufeff" + out.getvalue()


# -- one-shot (API, CLI) and staged (pages, task) imports -----------------------------


def import_bytes(
    session: Session,
    user: User,
    kind: str,
    data: bytes,
    *,
    mode: str = "all_or_nothing",
    dry_run: bool = False,
    encoding: str | None = None,
    mapping: dict[str, str] | None = None,
    choices: dict[int, int] | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    if kind not in KINDS:
        raise DomainError("Import into haves or wants.", field="kind")
    csv_file = read_csv(data, encoding)
    if mapping is None:
        mapping = auto_mapping(csv_file.header, kind, remembered_mapping(session, user.id, kind))
    result = Importer(session).run(
        user.id, kind, csv_file, mapping, mode=mode, dry_run=dry_run, choices=choices,
        progress=progress,
    )  # fmt: skip
    if not dry_run:
        remember_mapping(session, user.id, kind, check_mapping(mapping, csv_file.header, kind))
    return result


class StagedImports:
    """The pages' import: upload, map, preview (dry run), confirm, run as a task."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def upload(
        self, user: User, kind: str, data: bytes, filename: str, encoding: str | None = None
    ) -> ListImport:
        if kind not in KINDS:
            raise DomainError("Import into haves or wants.", field="kind")
        text, used = decode(data, encoding or None)
        csv_file = parse_text(text, used)
        job = ListImport(
            user_id=user.id,
            kind=kind,
            filename=filename[:200],
            encoding=used,
            delimiter=csv_file.delimiter,
            content=text.lstrip("\ufeff"),
            mapping=auto_mapping(
                csv_file.header, kind, remembered_mapping(self.session, user.id, kind)
            ),
            total_rows=len(csv_file.rows),
        )
        self.session.add(job)
        self.session.flush()
        return job

    def get(self, user: User, import_id: int) -> ListImport:
        job = self.session.scalar(
            select(ListImport).where(ListImport.id == import_id, ListImport.user_id == user.id)
        )
        if job is None:
            raise NotFound("No such import.")
        return job

    @staticmethod
    def csv_file(job: ListImport) -> CsvFile:
        return parse_text(job.content, job.encoding, job.delimiter)

    def set_mapping(self, user: User, import_id: int, mapping: dict[str, str]) -> ListImport:
        job = self._editable(user, import_id)
        job.mapping = check_mapping(mapping, self.csv_file(job).header, job.kind)
        remember_mapping(self.session, user.id, job.kind, job.mapping)
        self.session.flush()
        return job

    def _editable(self, user: User, import_id: int) -> ListImport:
        job = self.get(user, import_id)
        if job.status != "uploaded":
            raise DomainError("This import has already been started.")
        return job

    def preview(self, user: User, import_id: int, mode: str = "all_or_nothing") -> ImportResult:
        job = self.get(user, import_id)
        return Importer(self.session).run(
            user.id, job.kind, self.csv_file(job), job.mapping, mode=mode, dry_run=True,
            choices={int(k): int(v) for k, v in job.choices.items()},
        )  # fmt: skip

    def start(self, user: User, import_id: int, mode: str, choices: dict[int, int]) -> ListImport:
        job = self._editable(user, import_id)
        if mode not in MODES:
            raise DomainError("Choose all_or_nothing or good_rows.", field="mode")
        job.mode = mode
        job.choices = {str(k): v for k, v in choices.items()}
        job.status = "queued"
        self.session.flush()
        outbox.enqueue(self.session, RUN_TASK, import_id=job.id)
        return job

    def run(self, import_id: int, progress: Progress | None = None) -> ImportResult | None:
        """The task body: import a queued file and record the outcome."""
        job = self.session.get(ListImport, import_id)
        if job is None or job.status not in ("queued", "running"):
            return None  # already done by an earlier delivery
        job.status = "running"
        result = Importer(self.session).run(
            job.user_id, job.kind, self.csv_file(job), job.mapping, mode=job.mode,
            choices={int(k): int(v) for k, v in job.choices.items()}, progress=progress,
        )  # fmt: skip
        job.status = "done" if result.applied or result.ok else "refused"
        if job.mode == "good_rows" and not result.ok:
            job.status = "done"
        job.created_rows = result.created if job.status == "done" else 0
        job.updated_rows = result.updated if job.status == "done" else 0
        job.error_rows = result.error_rows + len(result.ambiguous)
        job.errors = [e.as_dict() for e in result.errors[:MAX_REPORTED_ERRORS]]
        job.report = result.report
        job.finished_at = utcnow()
        self.session.flush()
        return result

    def recent(self, user: User, limit: int = 10) -> list[ListImport]:
        return list(
            self.session.scalars(
                select(ListImport)
                .where(ListImport.user_id == user.id, or_(ListImport.status != "uploaded"))
                .order_by(ListImport.id.desc())
                .limit(limit)
            )
        )
