"""Search relevance on the demo catalogue: the relevance set's targets, the
examples the pages show, and no silent search for another word."""

from __future__ import annotations

import html
import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from benchmarks.search_relevance import PRECISION_FLOOR, RECALL_TARGET, evaluate, load_cases
from marketplace.catalogue.search import SearchQuery, search
from marketplace.core.extensions import db


def refs(q: str) -> list[str]:
    return [p.ref for p in search(db.session(), SearchQuery(q=q, per_page=100)).pins]


def test_the_relevance_set_covers_what_collectors_type() -> None:
    cases = load_cases()
    assert len(cases) >= 60
    assert set(Counter(c.lang for c in cases)) == {"ru", "uk", "et", "en"}
    groups = Counter(c.group for c in cases)
    for group in ("romanisation", "related-language", "old-new-name", "inflection", "typo"):
        assert groups[group] >= 5, group
    assert all(c.relevant or c.group == "no-match" for c in cases)


def test_recall_and_precision_meet_their_targets(demo: Flask) -> None:
    report = evaluate(db.session())
    summary = "\n".join(report.lines())
    assert report.recall() >= RECALL_TARGET, summary
    assert report.mostly_unrelated() == [], summary
    assert all(o.precision >= PRECISION_FLOOR for o in report.outcomes)


@pytest.mark.parametrize(
    "spellings",
    [
        ("Киев", "Київ", "Kyiv", "Kiev", "Kiiev"),
        ("Мишка", "Миша", "Misha", "Mishka"),
        ("Санкт-Петербург", "Ленинград", "Saint Petersburg", "Leningrad"),
        ("Tereshkova", "Tereškova", "Терешкова", "Tereschkowa"),
        ("Гагарина", "Гагарин", "Gagarin", "Гагарін"),
    ],
)
def test_every_spelling_finds_the_same_pins(demo: Flask, spellings: tuple[str, ...]) -> None:
    found = {q: sorted(refs(q)) for q in spellings}
    assert found[spellings[0]]
    assert all(pins == found[spellings[0]] for pins in found.values()), found


@pytest.mark.parametrize("q", ["Brezhnev", "Kalinin", "Хрущёв", "Chruschtschow"])
def test_a_name_with_no_pin_finds_nothing_and_offers_words_instead(demo: Flask, q: str) -> None:
    result = search(db.session(), SearchQuery(q=q))
    assert result.pins == [] and result.total == 0
    assert result.corrections == {}
    typed = q.lower().replace("ё", "е")
    assert typed in result.suggestions


def test_the_page_says_no_pins_match_and_links_the_nearest_words(demo: Flask) -> None:
    page = demo.test_client().get("/pins", query_string={"q": "Brezhnev 1972"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "No pins match “brezhnev”" in text
    links = re.findall(r'<p id="no-match">.*?</p>', text, re.S)[0]
    queries = [
        parse_qs(urlsplit(html.unescape(h)).query)["q"][0]
        for h in re.findall(r'href="([^"]+)"', links)
    ]
    assert queries and all(q.endswith(" 1972") and "Brezhnev" not in q for q in queries)
    assert "Showing results for" not in text


def test_a_sure_typo_is_corrected_and_said_so(demo: Flask) -> None:
    result = search(db.session(), SearchQuery(q="gagrin"))
    assert result.corrections == {"gagrin": "gagarin"}
    assert "ZN-0036" in [p.ref for p in result.pins]


def test_the_home_page_examples_find_pins_of_the_demo_catalogue(demo: Flask) -> None:
    client = demo.test_client()
    home = client.get("/").get_data(as_text=True)
    examples = re.findall(r'<p class="muted" id="spelling-examples">(.*?)</p>', home, re.S)[0]
    queries = [
        parse_qs(urlsplit(html.unescape(h)).query)["q"][0]
        for h in re.findall(r'href="([^"]+)"', examples)
    ]
    assert queries[:4] == ["Циолковский", "Tsiolkovsky", "Ziolkowski", "Ciolkovskij"]
    same_pin = {q: refs(q) for q in queries[:4]}
    assert same_pin["Циолковский"] == ["ZN-0056"], same_pin
    assert all(found == ["ZN-0056"] for found in same_pin.values()), same_pin
    kyiv = [sorted(refs(q)) for q in queries[4:7]]
    assert kyiv[0] and kyiv.count(kyiv[0]) == 3
    leningrad = [sorted(refs(q)) for q in queries[7:]]
    assert leningrad[0] and leningrad.count(leningrad[0]) == 2


@pytest.mark.parametrize("path", ["/", "/pins"])
def test_every_search_box_placeholder_finds_a_pin(demo: Flask, path: str) -> None:
    page = demo.test_client().get(path).get_data(as_text=True)
    placeholder = re.search(r'type="search" name="q"[^>]*placeholder="([^"]+)"', page)
    assert placeholder is not None
    examples = [e.strip(" …") for e in html.unescape(placeholder.group(1)).split(",")]
    assert len(examples) >= 3
    for example in examples:
        assert refs(example), example
    assert refs("ZN-0028а")[0] == "ZN-0028а"
