"""Pins as the catalogue tests enter them, through the real catalogue service
(see `CataloguePinFactory`), and a small catalogue of real-looking pins for
search and ranking tests, and one with every facet's attributes drawn at
random for facet tests."""

from __future__ import annotations

import random
from typing import Any

from marketplace.catalogue.browse import FACET_VALUES
from marketplace.catalogue.models import Pin
from tests.support.factories import CataloguePinFactory


def make_pin(**fields: Any) -> Pin:
    """A catalogued pin; `fields` are the catalogue's form fields (themes by path)."""
    pin: Pin = CataloguePinFactory(**fields)
    return pin


def gagarin_catalogue() -> dict[str, Pin]:
    """A handful of real-looking pins that compete for the same queries."""
    return {
        "gagarin": make_pin(
            ref="ZN-0101", title_en="Yuri Gagarin, first man in space", legend="Ю. А. ГАГАРИН 1961",
            translation_en="Yu. A. Gagarin 1961", themes=["Space"], year_from=1961,
            republic="USSR", material="aluminium", pin_type="souvenir",
        ),
        "gagarin_museum": make_pin(
            ref="ZN-0102", title_en="Gagarin town museum", legend="Гагарин. Музей",
            themes=["Space", "Cities"], city="Gagarin", republic="RSFSR", year_from=1971,
        ),
        "vostok": make_pin(
            ref="ZN-0103", title_en="Vostok rocket", legend="ВОСТОК", themes=["Space"],
            notes_en="Launch vehicle that carried Gagarin", year_from=1961,
        ),
        "lenin": make_pin(
            ref="ZN-0104", title_en="Lenin portrait", legend="ЛЕНИН", themes=["Lenin"],
            year_from=1970, material="aluminium",
        ),
        "tourist": make_pin(
            ref="ZN-0105", title_en="Tourist of the USSR", legend="ТУРИСТ СССР",
            themes=["Tourism"], pin_type="award", awarded_with_document=True,
        ),
        "znachok": make_pin(
            ref="ZN-0106", title_en="Badge collectors' club", legend="Клуб коллекционеров. Значок",
            themes=["Societies"], city="Moscow",
        ),
        "kyiv": make_pin(
            ref="ZN-0107", title_en="Kyiv hero city", legend="Київ", legend_lang="uk",
            themes=["Cities/Hero cities"], city="Kyiv", republic="Ukrainian SSR", year_from=1965,
        ),
    }  # fmt: skip


THEME_PATHS = ["Space", "Sport", "Sport/Olympics-80", "Lenin", "Cities/Hero cities"]
REPUBLICS = ["USSR", "RSFSR", "Ukrainian SSR", None]
MATERIALS = ["aluminium", "brass", "tombac", None]


def catalogue_of(count: int) -> list[Pin]:
    """Pins with every facet's attributes drawn at random (a fixed seed), more
    makers than a facet lists, half of them "Alpha" in the title."""
    rng = random.Random(3)
    pins = []
    for i in range(count):
        pins.append(
            make_pin(
                ref=f"F-{i:03d}",
                title_en=f"{'Alpha' if i % 2 else 'Omega'} pin {i}",
                themes=rng.sample(THEME_PATHS, rng.randint(0, 2)),
                republic=rng.choice(REPUBLICS),
                material=rng.choice(MATERIALS),
                pin_type=rng.choice(["souvenir", "award", None]),
                city=rng.choice(["Moscow", "Kyiv", None]),
                maker=f"Maker {i % (FACET_VALUES + 5)}",
                series_name=rng.choice(["Cosmonauts", "Cities of the Volga", None]),
                year_from=rng.choice([1957, 1961, 1968, 1975, 1980, None]),
            )
        )
    return pins
