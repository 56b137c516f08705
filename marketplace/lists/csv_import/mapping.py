"""Which column of a file holds which field: the collector's own mapping, the one
they used last time (remembered per list kind), else headings recognised by name in
English and Russian."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.catalogue.transliteration import fold
from marketplace.core.errors import DomainError
from marketplace.lists.models import ImportMapping
from marketplace.lists.operations import KINDS

FIELDS: dict[str, tuple[str, ...]] = {name: kind.csv_fields for name, kind in KINDS.items()}
FIELD_LABELS = {
    "ref": _l("Catalogue number"),
    "any_variant": _l("Any variant (yes/no)"),
    "title": _l("Title"),
    "legend": _l("Legend (inscription)"),
    "quantity": _l("Quantity"),
    "condition": _l("Condition"),
    "defects": _l("Defects"),
    "tradeable": _l("Tradeable (yes/no)"),
    "price": _l("Asking price"),
    "currency": _l("Currency"),
    "notes": _l("Notes"),
    "priority": _l("Priority (1–5)"),
    "min_condition": _l("Minimum condition"),
    "max_price": _l("Maximum price"),
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
            raise DomainError(_("Unknown field '%(name)s'.", name=name), field="mapping")
        if column not in header:
            raise DomainError(
                _("The file has no column '%(column)s'.", column=column), field="mapping"
            )
        clean[name] = column
    if not {"ref", "title", "legend"} & clean.keys():
        raise DomainError(
            _("Map at least one of the catalogue number, title or legend columns."),
            field="mapping",
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
