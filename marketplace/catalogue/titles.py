"""Which title a reader is shown for a pin: the one place that decides it, for
every page, mail and API answer that names a pin.

The legend is always shown as struck; beside it the pin's title in the reader's
language where the catalogue has one, else the legend's transliteration (so a
reader who cannot read the script can still say it), else the English title —
the catalogue's own, always there — when the legend needs no transliteration
(it is in Latin letters already, or the pin has none). `display_title` decides
for a loaded pin; `title_column` says the same in SQL, for queries that read
pins as rows (matches, mail), and `titles_in` looks many up at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from marketplace.catalogue.models import Pin, PinTitle


def language_of(locale: Any) -> str:
    """The language code of a Babel `Locale`, a locale name ("ru_RU") or None
    (English)."""
    if locale is None:
        return "en"
    language = getattr(locale, "language", None) or str(locale)
    return language.replace("-", "_").split("_")[0].lower() or "en"


def display_title(pin: Pin, locale: Any) -> str:
    """The pin's title for a reader of `locale`: in their language if the catalogue
    has it, else the legend's transliteration, else the English title."""
    return pin.title_in(language_of(locale)) or pin.transliteration or pin.title_en


def titles_of(pin: Pin) -> dict[str, str]:
    """Every title the catalogue has for the pin, by language, English first."""
    return {"en": pin.title_en, **{t.language: t.title for t in pin.titles}}


def title_column(locale: Any) -> ColumnElement[str] | InstrumentedAttribute[str]:
    """`display_title` as a column of a query over `Pin`, for a reader of `locale`."""
    language = language_of(locale)
    if language == "en":
        return Pin.title_en
    own = (
        select(PinTitle.title)
        .where(PinTitle.pin_id == Pin.id, PinTitle.language == language)
        .scalar_subquery()
    )
    return func.coalesce(own, func.nullif(Pin.transliteration, ""), Pin.title_en)


def titles_in(session: Session, pin_ids: Iterable[int], locale: Any) -> dict[int, str]:
    """pin id → its title for a reader of `locale`, for every pin still in the catalogue."""
    ids = sorted({int(i) for i in pin_ids})
    if not ids:
        return {}
    rows = session.execute(select(Pin.id, title_column(locale)).where(Pin.id.in_(ids)))
    return {int(pin_id): str(title) for pin_id, title in rows}


__all__ = ["display_title", "language_of", "title_column", "titles_in", "titles_of"]
