"""Every spelling a pin can be found under: its title, legend (as struck and
transliterated), issuer, places under their Soviet-era and present-day names, and
themes, stored on the pin for search and added to the vocabulary that typo
correction draws on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from marketplace.catalogue import transliteration as tr
from marketplace.catalogue.models import Pin, SearchTerm

# Soviet-era and present-day names of places, so either finds the other's pins.
PLACE_ALIASES: dict[str, str] = {
    "Kyiv": "Kiev Киев", "Kiev": "Kyiv Київ", "Odesa": "Odessa Одесса", "Odessa": "Odesa Одеса",
    "Kharkiv": "Kharkov Харьков", "Lviv": "Lvov Львов", "Tallinn": "Tallin Таллин",
    "Almaty": "Alma-Ata Алма-Ата", "Alma-Ata": "Almaty Алматы", "Bishkek": "Frunze Фрунзе",
    "Chisinau": "Kishinev Кишинёв", "Saint Petersburg": "Leningrad Ленинград",
    "Leningrad": "Saint Petersburg Петербург", "Volgograd": "Stalingrad Сталинград",
    "Nizhny Novgorod": "Gorky Горький", "Yekaterinburg": "Sverdlovsk Свердловск",
    "Samara": "Kuibyshev Куйбышев", "Tver": "Kalinin Калинин", "Vilnius": "Vilnyus Вильнюс",
    "Dnipro": "Dnepropetrovsk Днепропетровск", "Ashgabat": "Ashkhabad Ашхабад",
    "Minsk": "Мінск", "Riga": "Rīga",
}  # fmt: skip


def index_pin(session: Session, pin: Pin) -> None:
    """Store every spelling the pin can be found under, and add new spellings to
    the vocabulary used for typo correction."""
    lang = pin.legend_lang or "ru"
    title = tr.join_terms([pin.title_en, pin.legend or "", pin.translation_en or ""], lang)
    body = tr.join_terms(
        [
            pin.ref, " ".join(pin.printed_refs or []), pin.issuer or "", pin.occasion or "",
            pin.city or "", PLACE_ALIASES.get(pin.city or "", ""), pin.republic or "",
            pin.maker or "", pin.maker_mark or "",
            pin.series.name if pin.series else "", pin.notes_en or "",
            " ".join(t.path.replace("/", " ") + " " + (t.name_ru or "") for t in pin.themes),
        ],
        lang,
    )  # fmt: skip
    pin.search_title, pin.search_body = title, body
    add_terms(session, set(title.split()) | set(body.split()))


def add_terms(session: Session, terms: set[str]) -> None:
    rows = [{"term": t} for t in terms if 1 < len(t) <= 100]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(SearchTerm).values(rows).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(SearchTerm).values(rows).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(SearchTerm).values(rows)
    session.execute(stmt)
