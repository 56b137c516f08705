"""Pins in the reader's language: the catalogue keeps a pin's title in Russian,
Ukrainian and Estonian beside its English one; a reader is shown the title in
their language where the catalogue has it, else the legend's transliteration;
search finds a pin by any of its titles; the API gives every title."""

from __future__ import annotations

import itertools
import re

import pytest
from babel import Locale
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from marketplace.catalogue.models import PinTitle
from marketplace.catalogue.operations import Catalogue, load_demo_catalogue, record_of
from marketplace.catalogue.operations.demo import demo_titles
from marketplace.catalogue.search import GENERIC_WORDS, SearchQuery, search
from marketplace.catalogue.titles import display_title, titles_of
from marketplace.core.extensions import db
from tests.support.catalogue import make_pin
from tests.support.factories import UserFactory


def refs(q: str) -> list[str]:
    return [p.ref for p in search(db.session(), SearchQuery(q=q)).pins]


def marksman() -> object:
    return make_pin(
        ref="ZN-0002",
        title_en="Voroshilov marksman, 1st class",
        legend="ВОРОШИЛОВСКИЙ СТРЕЛОК",
        title_ru="Ворошиловский стрелок I ступени",
        title_uk="Ворошиловський стрілець I ступеня",
        title_et="Vorošilovi laskur, I aste",
    )


def test_the_reader_is_shown_the_title_in_their_language(app_ctx: Flask) -> None:
    pin = marksman()
    assert display_title(pin, Locale.parse("ru_RU")) == "Ворошиловский стрелок I ступени"
    assert display_title(pin, "uk") == "Ворошиловський стрілець I ступеня"
    assert display_title(pin, Locale.parse("et")) == "Vorošilovi laskur, I aste"
    assert display_title(pin, "en") == display_title(pin, None) == pin.title_en
    assert titles_of(pin) == {
        "en": "Voroshilov marksman, 1st class",
        "et": "Vorošilovi laskur, I aste",
        "ru": "Ворошиловский стрелок I ступени",
        "uk": "Ворошиловський стрілець I ступеня",
    }


def test_without_a_title_in_their_language_the_reader_sees_the_transliteration(
    app_ctx: Flask,
) -> None:
    pin = make_pin(
        title_en="Kyiv, hero city", legend="КИЇВ — МІСТО-ГЕРОЙ", legend_lang="uk",
        title_uk="Київ — місто-герой",
    )  # fmt: skip
    assert pin.transliteration == "KYIV — MISTO-HEROI"
    # A Russian reader of a pin with only a Ukrainian title: the transliteration.
    assert display_title(pin, "ru") == "KYIV — MISTO-HEROI"
    assert display_title(pin, "et") == "KYIV — MISTO-HEROI"
    assert display_title(pin, "uk") == "Київ — місто-герой"
    assert display_title(pin, "en") == "Kyiv, hero city"


def test_a_legend_in_latin_letters_or_none_falls_back_to_the_english_title(
    app_ctx: Flask,
) -> None:
    latin = make_pin(title_en="Tallinn song festival", legend="TALLINN 1969", legend_lang="et")
    bare = make_pin(title_en="Unmarked star")
    assert latin.transliteration is None
    assert display_title(latin, "ru") == "Tallinn song festival"
    assert display_title(bare, "uk") == "Unmarked star"


def test_titles_are_kept_with_each_revision_and_reverted(app_ctx: Flask) -> None:
    pin = marksman()
    catalogue = Catalogue(db.session())
    moderator = UserFactory(moderator=True)
    catalogue.update(pin, {"title_et": "Vorošilovi täpsuslaskur", "title_uk": ""}, moderator)
    assert pin.title_in("et") == "Vorošilovi täpsuslaskur" and pin.title_in("uk") is None
    assert catalogue.history(pin)[0].changes["title_uk"] == [
        "Ворошиловський стрілець I ступеня",
        None,
    ]
    catalogue.revert(pin, 1, moderator)
    db.session.flush()
    assert record_of(pin)["title_uk"] == "Ворошиловський стрілець I ступеня"
    stored = db.session.scalars(select(PinTitle.language).where(PinTitle.pin_id == pin.id))
    assert sorted(stored) == ["et", "ru", "uk"]


def test_a_pin_is_found_by_its_title_in_any_language(app_ctx: Flask) -> None:
    marksman()
    make_pin(ref="ZN-0003", title_en="Marksman of the USSR", legend="МЕТКИЙ СТРЕЛОК СССР")
    assert refs("laskur") == ["ZN-0002"]  # Estonian
    assert refs("Vorošilovi laskur") == ["ZN-0002"]
    assert refs("vorosilovi laskur") == ["ZN-0002"]  # typed without the háček
    assert refs("стрілець") == ["ZN-0002"]  # Ukrainian
    assert refs("ступени") == ["ZN-0002"]  # Russian
    assert refs("strilets") == ["ZN-0002"]  # the Ukrainian title romanised


def test_an_inflected_word_in_one_title_does_not_hide_other_forms(app_ctx: Flask) -> None:
    """«Терешковой» in one pin's Russian title is a whole indexed word; the pin
    that only says «Терешкова» is still found by it (both stem to терешков)."""
    make_pin(ref="ZN-0044", title_en="Valentina Tereshkova, Vostok-6", legend="ВОСТОК-6")
    make_pin(
        ref="ZN-0045", title_en="Valentina Tereshkova portrait", legend="В. ТЕРЕШКОВА",
        title_ru="Портрет Валентины Терешковой",
    )  # fmt: skip
    assert sorted(refs("Терешковой")) == ["ZN-0044", "ZN-0045"]


def test_a_title_changed_is_searched_under_its_new_words_only(app_ctx: Flask) -> None:
    pin = marksman()
    Catalogue(db.session()).update(pin, {"title_et": "Täpsuslaskja märk"}, None)
    db.session.flush()
    assert refs("täpsuslaskja") == ["ZN-0002"]
    assert refs("aste") == []


def test_the_demo_catalogue_loads_its_titles_and_adds_missing_ones_later(
    app_ctx: Flask,
) -> None:
    session = db.session()
    assert load_demo_catalogue(session) == 441
    titles = demo_titles()
    pin = Catalogue(session).by_ref("ZN-0004")
    assert pin is not None
    assert {lang: pin.title_in(lang) for lang in ("ru", "uk", "et")} == titles["ZN-0004"]
    # A catalogue loaded before the titles existed gains them on the next load.
    Catalogue(session).update(pin, {"title_et": None}, None)
    assert load_demo_catalogue(session) == 0
    assert pin.title_in("et") == titles["ZN-0004"]["et"]
    assert refs(titles["ZN-0004"]["et"])[0] == "ZN-0004"


# Words as collectors write titles: Russian, Ukrainian and Estonian letters.
WORD = st.text(
    alphabet="абвгдежзиклмнопрстуфхцчшщыэюяіїєґabcdefghijklmnoprstuvõäöüšž",
    min_size=3,
    max_size=12,
).filter(lambda w: w not in GENERIC_WORDS)
_refs = itertools.count(1)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=st.lists(WORD, min_size=1, max_size=4),
    language=st.sampled_from(["ru", "uk", "et"]),
)
def test_any_stored_title_in_any_language_finds_its_pin(
    app_ctx: Flask, words: list[str], language: str
) -> None:
    title = " ".join(words)
    pin = make_pin(ref=f"H-{next(_refs)}", title_en="Pin", **{f"title_{language}": title})
    found = search(db.session(), SearchQuery(q=title, per_page=100)).pins
    assert pin.id in [p.id for p in found], (title, language)


def test_the_pin_api_gives_every_title_and_the_readers_own(client: FlaskClient) -> None:
    pin = marksman()
    db.session.commit()
    body = client.get(f"/api/v1/pins/{pin.id}", headers={"Accept-Language": "uk"}).json
    assert body["title"] == "Ворошиловський стрілець I ступеня"
    assert body["titles"]["et"] == "Vorošilovi laskur, I aste"
    assert body["titles"]["en"] == "Voroshilov marksman, 1st class"
    assert body["title_ru"] == "Ворошиловский стрелок I ступени"
    found = client.get("/api/v1/pins?q=laskur", headers={"Accept-Language": "et"}).json
    assert [(i["ref"], i["title"]) for i in found["items"]] == [
        ("ZN-0002", "Vorošilovi laskur, I aste")
    ]
    assert found["items"][0]["titles"]["ru"] == "Ворошиловский стрелок I ступени"
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    pin_out = next(v for k, v in schemas.items() if k.startswith("PinOut"))
    summary = next(v for k, v in schemas.items() if k.startswith("PinSummaryOut"))
    for schema in (pin_out, summary):
        assert {"title", "titles"} <= set(schema["properties"])
        assert schema["properties"]["titles"]["additionalProperties"]["type"] == "string"


@pytest.mark.parametrize(
    ("language", "title"),
    [("ru", "Ворошиловский стрелок I ступени"), ("uk", "Ворошиловський стрілець I ступеня"),
     ("et", "Vorošilovi laskur, I aste"), ("en", "Voroshilov marksman, 1st class")],
)  # fmt: skip
def test_pages_show_the_legend_then_the_title_in_the_readers_language(
    client: FlaskClient, language: str, title: str
) -> None:
    pin = marksman()
    db.session.commit()
    headers = {"Accept-Language": language}
    for path in (f"/pins/{pin.id}", "/pins?q=laskur", "/pins"):
        html = client.get(path, headers=headers).get_data(as_text=True)
        main = html.find("<main")
        # The title as text (not an image's alt), after the legend.
        legend, shown = html.find("ВОРОШИЛОВСКИЙ СТРЕЛОК", main), html.find(f"{title}<", main)
        assert 0 < legend < shown, (path, language)
        others = {"Ворошиловский стрелок I ступени", "Vorošilovi laskur, I aste"} - {title}
        if language != "en":
            assert not any(re.search(re.escape(o), html) for o in others), (path, language)
