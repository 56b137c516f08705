"""The demo catalogue's titles in the readers' languages (demo_data/pin_titles.json):
every pin of pins.json has a Russian, Ukrainian and Estonian title, each one written in
its language's script, and the file names no pin the catalogue does not have."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DEMO_DATA = Path(__file__).resolve().parents[1] / "marketplace" / "demo_data"
LANGUAGES = ("ru", "uk", "et")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _pins() -> list[dict[str, Any]]:
    pins: list[dict[str, Any]] = json.loads((DEMO_DATA / "pins.json").read_text("utf-8"))
    return pins


def _titles() -> dict[str, Any]:
    titles: dict[str, Any] = json.loads((DEMO_DATA / "pin_titles.json").read_text("utf-8"))
    return titles


def test_every_pin_has_a_title_in_each_reader_language() -> None:
    titles = _titles()
    missing = {
        (pin["ref"], language)
        for pin in _pins()
        for language in LANGUAGES
        if not isinstance(titles.get(pin["ref"]), dict) or language not in titles[pin["ref"]]
    }
    assert missing == set()


def test_titles_are_non_empty_strings_without_outer_spaces() -> None:
    wrong = {
        (ref, language, title)
        for ref, by_language in _titles().items()
        for language, title in by_language.items()
        if not isinstance(title, str) or not title.strip() or title != title.strip()
    }
    assert wrong == set()


def test_titles_are_only_in_the_reader_languages() -> None:
    extra = {
        (ref, language)
        for ref, by_language in _titles().items()
        for language in by_language
        if language not in LANGUAGES
    }
    assert extra == set()


def test_russian_and_ukrainian_titles_are_written_in_cyrillic() -> None:
    latin_only = {
        (ref, language, by_language[language])
        for ref, by_language in _titles().items()
        for language in ("ru", "uk")
        if isinstance(by_language.get(language), str)
        and not CYRILLIC.search(by_language[language])
    }
    assert latin_only == set()


def test_estonian_titles_have_no_cyrillic() -> None:
    cyrillic = {
        (ref, by_language["et"])
        for ref, by_language in _titles().items()
        if isinstance(by_language.get("et"), str) and CYRILLIC.search(by_language["et"])
    }
    assert cyrillic == set()


def test_titles_name_only_pins_of_the_catalogue() -> None:
    refs = {pin["ref"] for pin in _pins()}
    assert set(_titles()) - refs == set()
