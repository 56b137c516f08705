"""Which title a reader is shown for a pin: the one place that decides it, for
every page, mail and API answer that names a pin.

The legend is always shown as struck; beside it the pin's title in the reader's
language where the catalogue has one, else the legend's transliteration (so a
reader who cannot read the script can still say it), else the English title —
the catalogue's own, always there — when the legend needs no transliteration
(it is in Latin letters already, or the pin has none). Pure functions.
"""

from __future__ import annotations

from typing import Any

from marketplace.catalogue.models import Pin


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


__all__ = ["display_title", "language_of", "titles_of"]
