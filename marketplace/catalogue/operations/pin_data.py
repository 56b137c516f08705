"""Pin data from any source (a form, a CSV cell, a JSON value, an API body)
checked and normalised into the catalogue's fields, with every wrong field named;
and the columns of a pin as one flat record (the import/export format)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from marketplace.catalogue import transliteration as tr
from marketplace.catalogue.models import (
    ATTACHMENTS,
    FINISHES,
    FIRST_YEAR,
    MATERIALS,
    PIN_TYPES,
    REPUBLICS,
    TECHNIQUES,
    TITLE_LANGUAGES,
)
from marketplace.catalogue.operations.themes import THEMES
from marketplace.core.errors import InvalidInput

# Editable fields and how each is read from a form, CSV cell or JSON value.
TEXT_FIELDS = (
    "title_en", "legend", "legend_lang", "translation_en", "issuer", "occasion", "city",
    "maker", "maker_mark", "hallmark", "reverse_markings", "authenticity_notes", "notes_en",
)  # fmt: skip
CHOICE_FIELDS: dict[str, tuple[str, ...]] = {
    "pin_type": PIN_TYPES,
    "material": MATERIALS,
    "finish": FINISHES,
    "technique": TECHNIQUES,
    "attachment": ATTACHMENTS,
    "republic": REPUBLICS,
}
# The pin's title in each reader's language (PinTitle rows), as flat fields.
TITLE_FIELDS = tuple(f"title_{language}" for language in TITLE_LANGUAGES)
NUMBER_FIELDS = ("height_mm", "width_mm", "thickness_mm", "weight_g")
BOOL_FIELDS = ("awarded_with_document", "known_copies")
EXPORT_COLUMNS = (
    "ref", "variant_group", "printed_refs", "title_en", *TITLE_FIELDS, "legend", "legend_lang",
    "translation_en", "issuer", "occasion", "themes", "pin_type", "series_name",
    "series_number", "series_size", "year_from", "year_to", "city", "republic", "maker",
    "maker_mark", "material", "finish", "hallmark", "technique", "attachment", "height_mm",
    "width_mm", "thickness_mm", "weight_g", "reverse_markings", "awarded_with_document",
    "authenticity_notes", "known_copies", "notes_en",
)  # fmt: skip


def _too_long(limit: int) -> str:
    return ngettext("At most %(num)d character.", "At most %(num)d characters.", limit)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_list(value: Any) -> list[str]:
    if _blank(value):
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if not _blank(v)]
    return [part.strip() for part in str(value).split("|") if part.strip()]


def clean_pin_data(raw: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check and normalise pin data from any source. Raises InvalidInput naming
    every wrong field; `partial` accepts a subset of fields (corrections, PATCH)."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if "ref" in raw or not partial:
        ref = str(raw.get("ref") or "").strip()
        if not ref:
            fail("ref", _("Give the catalogue number, e.g. 17108а or ZN-0042."))
        elif len(ref) > 40 or any(ch.isspace() for ch in ref):
            fail("ref", _("A catalogue number has no spaces and at most 40 characters."))
        data["ref"] = ref
        group = str(raw.get("variant_group") or "").strip() or ref.rstrip("абвгдежзиклмн")
        data["variant_group"] = group or ref
    if ("title_en" in raw or not partial) and _blank(raw.get("title_en")):
        fail("title_en", _("Give a short English title collectors would search for."))
    for field in (*TEXT_FIELDS, *TITLE_FIELDS):
        if field in raw:
            value = raw[field]
            data[field] = None if _blank(value) else str(value).strip()
    for field, choices in CHOICE_FIELDS.items():
        if field in raw:
            value = None if _blank(raw[field]) else str(raw[field]).strip()
            if value is not None and value not in choices:
                fail(field, _("Choose one of: %(choices)s.", choices=", ".join(choices)))
            data[field] = value
    for field in NUMBER_FIELDS:
        if field in raw:
            if _blank(raw[field]):
                data[field] = None
                continue
            try:
                number = Decimal(str(raw[field]).replace(",", "."))
            except InvalidOperation:
                fail(field, _("Enter a number, e.g. 24.5."))
                continue
            if not number.is_finite() or number <= 0 or number >= 10000:
                fail(field, _("Enter a positive size or weight."))
            data[field] = number
    for field in BOOL_FIELDS:
        if field in raw:
            value = raw[field]
            if _blank(value):
                data[field] = None
            elif isinstance(value, bool):
                data[field] = value
            elif str(value).strip().lower() in {"yes", "true", "1", "да", "y"}:
                data[field] = True
            elif str(value).strip().lower() in {"no", "false", "0", "нет", "n"}:
                data[field] = False
            else:
                fail(field, _("Answer yes or no (or leave empty if unknown)."))
    this_year = datetime.now(UTC).year
    for field in ("year_from", "year_to", "series_number", "series_size"):
        if field not in raw:
            continue
        if _blank(raw[field]):
            data[field] = None
            continue
        try:
            number_value = int(str(raw[field]).strip())
        except ValueError:
            fail(field, _("Enter a whole number."))
            continue
        if field.startswith("year") and not FIRST_YEAR <= number_value <= this_year:
            fail(
                field,
                _(
                    "A year between %(first)d and %(last)d, please.",
                    first=FIRST_YEAR,
                    last=this_year,
                ),
            )
        elif field.startswith("series") and number_value < 1:
            fail(field, _("Numbers in a series start at 1."))
        data[field] = number_value
    if (
        data.get("year_from") is not None
        and data.get("year_to") is not None
        and data["year_to"] < data["year_from"]
    ):
        fail("year_to", _("The last year cannot come before the first."))
    if "year_from" in data and data.get("year_to") is None and "year_to" not in raw:
        data["year_to"] = data["year_from"]
    if "printed_refs" in raw:
        data["printed_refs"] = _as_list(raw["printed_refs"])
    if "themes" in raw:
        themes = _as_list(raw["themes"])
        unknown = [t for t in themes if t not in THEMES]
        if unknown:
            fail(
                "themes",
                _(
                    "Unknown theme %(theme)s; themes are e.g. Space, Sport/Olympics-80.",
                    theme=repr(unknown[0]),
                ),
            )
        data["themes"] = themes
    if "series_name" in raw:
        name = None if _blank(raw["series_name"]) else str(raw["series_name"]).strip()
        if name and len(name) > 200:
            fail("series_name", _too_long(200))
        data["series_name"] = name
    if data.get("legend") and not data.get("legend_lang"):
        data["legend_lang"] = "ru" if tr.has_cyrillic(data["legend"]) else None
    limits = (("title_en", 200), *((f, 300) for f in TITLE_FIELDS), ("issuer", 300),
              ("occasion", 300), ("city", 100))  # fmt: skip
    for field, limit in limits:
        if data.get(field) and len(data[field]) > limit:
            fail(field, _too_long(limit))
    if errors:
        raise InvalidInput(errors)
    return data
