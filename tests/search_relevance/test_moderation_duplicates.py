"""Moderation's duplicate check on the demo catalogue: likely duplicates ranked
by legend similarity across scripts, issuer and year, and photo hash."""

from __future__ import annotations

from flask import Flask

from marketplace.catalogue.media import catalogue_photo_dir
from marketplace.catalogue.moderation import Moderation, legend_similarity
from marketplace.core.extensions import db
from tests.support.factories import make_user


def duplicates_of(data: dict[str, object]) -> list[tuple[str, list[str]]]:
    moderation = Moderation(db.session(), catalogue_photo_dir())
    submission = moderation.submit(make_user("member@example.org"), data)
    return [(d.pin.ref, d.reasons) for d in moderation.likely_duplicates(submission)]


def test_a_longer_legend_flags_the_pin_it_contains_first(demo: Flask) -> None:
    found = duplicates_of(
        {"ref": "ZN-9100", "title_en": "Gagarin and Vostok", "legend": "ЮРИЙ ГАГАРИН ВОСТОК"}
    )
    assert found and found[0][0] == "ZN-0036", found
    assert "similar legend" in found[0][1][0]


def test_a_legend_in_latin_letters_flags_the_cyrillic_one(demo: Flask) -> None:
    found = duplicates_of({"ref": "ZN-9101", "title_en": "Tereshkova", "legend": "V. TERESHKOVA"})
    assert found[0][0] == "ZN-0045", found


def test_same_issuer_and_year_ranks_above_a_mere_word_in_common(demo: Flask) -> None:
    found = duplicates_of(
        {"ref": "ZN-9102", "title_en": "Excellent sniper", "legend": "ОТЛИЧНЫЙ СНАЙПЕР",
         "issuer": "people's commissariat of defence", "year_from": 1942}
    )  # fmt: skip
    refs = [ref for ref, _ in found]
    assert refs[0] == "ZN-0227", found  # Снайпер, 1942, same issuer
    assert all("same issuer and year" in reasons for _, reasons in found[:3])


def test_similarity_ignores_script_and_romanisation() -> None:
    assert legend_similarity("ЮРИЙ ГАГАРИН", "Juri Gagarin") == 100
    assert legend_similarity("ЮРИЙ ГАГАРИН", "ЮРИЙ ГАГАРИН ВОСТОК") >= 75
    assert legend_similarity("ВОСТОК", "ЮРИЙ ГАГАРИН ВОСТОК") < 75
