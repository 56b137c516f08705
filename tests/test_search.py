"""Catalogue search: Cyrillic and Latin both ways, the common romanisations,
typos, filters with facets, sorting and paging — the same order on both databases."""

from __future__ import annotations

import pytest
from flask import Flask

from marketplace.catalogue.search import SearchQuery, search
from marketplace.core.extensions import db
from tests.support.catalogue import gagarin_catalogue, make_pin


def refs(q: str, **filters: object) -> list[str]:
    result = search(db.session(), SearchQuery(q=q, **filters))  # type: ignore[arg-type]
    return [p.ref for p in result.pins]


@pytest.fixture()
def pins(app_ctx: Flask) -> dict[str, object]:
    return gagarin_catalogue()


def test_gagarin_in_any_spelling_finds_the_same_pins_in_the_same_order(
    pins: dict[str, object],
) -> None:
    expected = refs("Gagarin")
    assert set(expected[:2]) == {"ZN-0101", "ZN-0102"} and expected[2] == "ZN-0103"
    for q in ("Гагарин", "gagarin", "Gagarine", "gagrin", "ГАГАРИН", "значок Гагарина"):
        assert refs(q) == expected, q


@pytest.mark.parametrize("q", ["Lenin", "ленин", "Lenine", "LENIN"])
def test_lenin_spellings(pins: dict[str, object], q: str) -> None:
    assert refs(q)[0] == "ZN-0104"


@pytest.mark.parametrize("q", ["kollektsionerov", "коллекционеров", "Kollekzionerow", "klub"])
def test_latin_finds_cyrillic_legend_words(pins: dict[str, object], q: str) -> None:
    assert refs(q) == ["ZN-0106"]


def test_the_word_for_pin_narrows_nothing(pins: dict[str, object]) -> None:
    assert refs("znachok lenin") == refs("lenin") == ["ZN-0104"]
    assert len(refs("значок")) == 7


@pytest.mark.parametrize("q", ["Kyiv", "Київ", "Kiev hero"])
def test_ukrainian_legend(pins: dict[str, object], q: str) -> None:
    assert refs(q)[0] == "ZN-0107"


def test_several_words_must_all_match(pins: dict[str, object]) -> None:
    assert refs("tourist ussr") == ["ZN-0105"]
    assert refs("турист гагарин") == []


def test_title_matches_rank_above_notes(pins: dict[str, object]) -> None:
    found = refs("gagarin")
    assert found.index("ZN-0103") > found.index("ZN-0101")


def test_catalogue_number_finds_its_pin_first(pins: dict[str, object]) -> None:
    assert refs("ZN-0104")[0] == "ZN-0104"


def test_typo_correction_is_reported(pins: dict[str, object]) -> None:
    result = search(db.session(), SearchQuery(q="gagrin"))
    assert result.corrections == {"gagrin": "gagarin"}


def test_nonsense_finds_nothing(pins: dict[str, object]) -> None:
    result = search(db.session(), SearchQuery(q="qwxzv"))
    assert result.pins == [] and result.total == 0


def test_filters_narrow_and_facets_count(pins: dict[str, object]) -> None:
    assert refs("gagarin", theme="Cities") == ["ZN-0102"]
    assert refs("", theme="Cities") == ["ZN-0102", "ZN-0107"]  # includes Cities/Hero cities
    assert refs("", republic="Ukrainian SSR") == ["ZN-0107"]
    assert refs("", year_from=1962, year_to=1969) == ["ZN-0107"]
    assert refs("", material="aluminium", sort="year") == ["ZN-0101", "ZN-0104"]
    result = search(db.session(), SearchQuery(q="gagarin", with_facets=True))
    facets = result.facets
    assert ("Space", 3) in facets["theme"]
    assert dict(facets["republic"]) == {"USSR": 1, "RSFSR": 1}
    assert dict(facets["decade"]) == {"1960": 2, "1970": 1}


def test_year_range_overlap(app_ctx: Flask) -> None:
    make_pin(ref="R-1", year_from=1950, year_to=1991)
    make_pin(ref="R-2", year_from=1980)
    assert refs("", year_from=1985, year_to=1990, sort="ref") == ["R-1"]


def test_sorting_and_paging(app_ctx: Flask) -> None:
    for year in (1975, 1961, 1980, 1967):
        make_pin(ref=f"P-{year}", title_en=f"Space pin {year}", themes=["Space"], year_from=year)
    assert refs("space", sort="year") == ["P-1961", "P-1967", "P-1975", "P-1980"]
    assert refs("space", sort="year_desc")[0] == "P-1980"
    first = search(db.session(), SearchQuery(q="space pin", sort="year", per_page=3))
    second = search(db.session(), SearchQuery(q="space pin", sort="year", per_page=3, page=2))
    assert first.total == 4 and first.pages == 2
    assert [p.ref for p in second.pins] == ["P-1980"]


def test_edits_are_searchable_at_once(app_ctx: Flask) -> None:
    from marketplace.catalogue.operations import Catalogue

    pin = make_pin(ref="E-1", title_en="Bratsk dam")
    assert refs("Братск") == ["E-1"]
    Catalogue(db.session()).update(pin, {"title_en": "Dnieper dam"}, None)
    assert refs("bratsk") == []
    assert refs("dnieper") == ["E-1"]


@pytest.mark.parametrize("q", ["½", "¼ ¾", "⅓", "a½b", "Гагарин ½", "\u2044"])
def test_vulgar_fractions_search_their_digits_and_never_fail(
    pins: dict[str, object], q: str
) -> None:
    assert refs(q) == [] or all(ref.startswith("ZN-") for ref in refs(q))


def test_a_fraction_in_a_legend_is_found_by_the_fraction_and_by_its_digits(
    app_ctx: Flask,
) -> None:
    make_pin(ref="ZN-0900", title_en="Half a century of the Komsomol", legend="½ ВЕКА КОМСОМОЛУ")
    assert refs("½") == ["ZN-0900"]
    assert refs("1 2 века") == ["ZN-0900"]


@pytest.mark.parametrize("q", ["½", "¼", "¾", "⅓"])
def test_search_pages_and_api_answer_fractions(app_ctx: Flask, q: str) -> None:
    client = app_ctx.test_client()
    assert client.get("/pins", query_string={"q": q}).status_code == 200
    assert client.get("/api/v1/pins", query_string={"q": q}).status_code == 200
