"""Matching rows to catalogue pins, in bulk: by catalogue number (case-insensitive),
a variant group for "any variant" Wants, else by legend, transliteration or title;
several candidates are an ambiguity the collector resolves by choosing a pin for the
row. Rows for the same entry twice in one file are reported as duplicates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.catalogue.models import Pin
from marketplace.catalogue.transliteration import fold, words
from marketplace.lists.csv_import.rows import Parsed, RowError
from marketplace.lists.operations import HAVES, ListKind

CHUNK = 500


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


def entry_key(kind: ListKind, p: Parsed) -> tuple[Any, ...]:
    """What makes a row the same entry as another: pin, condition and defects for
    Haves; pin or variant group for Wants."""
    if kind is HAVES:
        return (p.pin_id, int(p.values["condition"]), p.values["defects"])
    return (p.pin_id, p.variant_group)


def match_rows(
    session: Session,
    parsed: list[Parsed],
    mapping: dict[str, str],
    choices: dict[int, int],
) -> tuple[list[Parsed], list[RowError], list[Ambiguity]]:
    """The rows matched to one pin (or group), the rows that match none, and the
    rows that match several and have no choice among them."""
    errors: list[RowError] = []
    ambiguous: list[Ambiguity] = []
    refs = {p.ref.lower() for p in parsed if p.ref and not p.any_variant}
    groups = {p.ref.lower() for p in parsed if p.ref and p.any_variant}
    by_ref = _lookup_refs(session, refs) if refs else {}
    by_group = _lookup_groups(session, groups) if groups else {}
    by_text: dict[str, list[Candidate]] = {}
    ref_column = mapping.get("ref")
    for p in parsed:
        if p.ref and p.any_variant:
            p.variant_group = by_group.get(p.ref.lower())
            if p.variant_group is None:
                errors.append(RowError(p.row, ref_column, _unknown_ref(p.ref)))
            continue
        if p.ref:
            p.pin_id = by_ref.get(p.ref.lower())
            if p.pin_id is None and not p.text:
                errors.append(RowError(p.row, ref_column, _unknown_ref(p.ref)))
            if p.pin_id is not None or not p.text:
                continue
        assert p.text is not None
        if p.text not in by_text:
            by_text[p.text] = find_by_text(session, p.text)
        candidates = by_text[p.text]
        chosen = choices.get(p.row)
        if chosen is not None and any(c.id == chosen for c in candidates):
            p.pin_id = chosen
        elif len(candidates) == 1:
            p.pin_id = candidates[0].id
        elif not candidates:
            message = (
                _(
                    "No pin in the catalogue matches catalogue number '%(ref)s' or '%(text)s'.",
                    ref=p.ref,
                    text=p.text,
                )
                if p.ref
                else _("No pin in the catalogue matches '%(text)s'.", text=p.text)
            )
            errors.append(RowError(p.row, p.text_column, message))
        else:
            ambiguous.append(Ambiguity(p.row, p.text_column, p.text, candidates))
    unmatched = {a.row for a in ambiguous} | {e.row for e in errors}
    return [p for p in parsed if p.row not in unmatched], errors, ambiguous


def _unknown_ref(ref: str) -> str:
    return _("Unknown catalogue number '%(ref)s'.", ref=ref)


def without_duplicates(
    kind: ListKind, parsed: list[Parsed], mapping: dict[str, str]
) -> tuple[list[Parsed], list[RowError]]:
    """The first row for each entry, and an error for each later row for the same."""
    first: dict[tuple[Any, ...], int] = {}
    good: list[Parsed] = []
    errors: list[RowError] = []
    column = mapping.get("ref") or mapping.get("legend") or mapping.get("title")
    for p in parsed:
        key = entry_key(kind, p)
        if key in first:
            errors.append(
                RowError(
                    p.row,
                    column,
                    _("Duplicate of row %(row)d (same pin, condition and defects).", row=first[key])
                    if kind is HAVES
                    else _("Duplicate of row %(row)d (same pin).", row=first[key]),
                )
            )
            continue
        first[key] = p.row
        good.append(p)
    return good, errors
