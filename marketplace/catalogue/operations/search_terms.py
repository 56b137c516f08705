"""Every spelling a pin can be found under: its titles in every language, legend
(as struck and transliterated), issuer, places and people under every equivalent
name (marketplace.catalogue.name_equivalents), and themes, stored on the pin for
search and added to the vocabulary that typo correction draws on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from marketplace.catalogue import transliteration as tr
from marketplace.catalogue.models import Pin, SearchTerm
from marketplace.catalogue.name_equivalents import equivalents


def index_pin(session: Session, pin: Pin) -> None:
    """Store every spelling the pin can be found under, and add new spellings to
    the vocabulary used for typo correction.

    The title holds what the pin says and shows (its titles in every language,
    legend, translation) and the names equivalent to those it mentions there; the
    body holds everything else it is about, its places' other names included.
    Each reader's title is spelled as its language spells it (Ukrainian under
    Ukraine's romanisation too), so a pin is found by any of them."""
    lang = pin.legend_lang or "ru"
    themes = " ".join(t.path.replace("/", " ") + " " + (t.name_ru or "") for t in pin.themes)
    titles = [(t.language, t.title) for t in pin.titles]
    shown = " ".join([pin.title_en, pin.legend or "", pin.translation_en or ""])
    shown = " ".join([shown, *(text for _language, text in titles)])
    title_names = equivalents(text=shown)
    body_names = [
        name
        for name in equivalents(
            city=pin.city or "", text=themes, notes=f"{pin.notes_en or ''} {pin.maker or ''}"
        )
        if name not in title_names
    ]
    title = tr.join_terms([pin.title_en, pin.legend or "", pin.translation_en or ""], lang)
    by_language = [tr.join_terms([text], language) for language, text in titles]
    title = _join(title, *by_language, tr.name_terms(pin.title_en), tr.join_terms(title_names))
    body = tr.join_terms(
        [
            pin.ref, " ".join(pin.printed_refs or []), pin.issuer or "", pin.occasion or "",
            pin.city or "", pin.republic or "", pin.maker or "", pin.maker_mark or "",
            pin.series.name if pin.series else "", pin.notes_en or "",
            themes, " ".join(body_names),
        ],
        lang,
    )  # fmt: skip
    body = _join(body, tr.name_terms(pin.city or ""))
    pin.search_title, pin.search_body = title, body
    add_terms(session, set(title.split()) | set(body.split()))


def _join(*chunks: str | list[str]) -> str:
    terms: dict[str, None] = {}
    for chunk in chunks:
        terms.update(dict.fromkeys(chunk.split() if isinstance(chunk, str) else chunk))
    return " ".join(terms)


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


def reindex_all(session: Session, batch: int = 500) -> int:
    """Index every pin again (after the spellings a pin is found under change);
    returns how many pins were indexed. Flushes batch by batch."""
    done, last_id = 0, 0
    while True:
        pins = list(
            session.scalars(
                select(Pin)
                .where(Pin.id > last_id)
                .order_by(Pin.id)
                .limit(batch)
                .options(
                    selectinload(Pin.themes), selectinload(Pin.series), selectinload(Pin.titles)
                )
            )
        )
        if not pins:
            return done
        for pin in pins:
            index_pin(session, pin)
        session.flush()
        done += len(pins)
        last_id = pins[-1].id
