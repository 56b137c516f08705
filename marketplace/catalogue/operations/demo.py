"""The demo catalogue: real pins (facts left empty where unknown) shipped with
the app as JSON, loaded once, with their titles in the readers' languages
(demo_data/pin_titles.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from marketplace.catalogue.models import Pin
from marketplace.catalogue.operations.service import Catalogue
from marketplace.catalogue.operations.themes import ensure_themes

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo_data"
DEMO_FILE = DEMO_DIR / "pins.json"
DEMO_TITLES = DEMO_DIR / "pin_titles.json"


def load_demo_catalogue(session: Session, path: Path = DEMO_FILE) -> int:
    """Load the demo catalogue (real pins, facts left empty where unknown) with
    its titles in the readers' languages; idempotent: pins already present by
    ref are left alone, except that a title they lack is added (a catalogue
    loaded before the titles existed gains them)."""
    records = json.loads(path.read_text(encoding="utf-8"))
    titles = demo_titles()
    ensure_themes(session)
    existing = {r.lower() for r in session.scalars(select(Pin.ref))}
    demo_refs = [raw["ref"].lower() for raw in records if raw["ref"].lower() in existing]
    present = {
        pin.ref.lower(): pin
        for pin in session.scalars(
            select(Pin)
            .where(func.lower(Pin.ref).in_(demo_refs))
            .options(selectinload(Pin.titles), selectinload(Pin.themes))
        )
    }
    catalogue = Catalogue(session)
    added = 0
    for raw in records:
        own_titles = {f"title_{lang}": title for lang, title in titles.get(raw["ref"], {}).items()}
        if raw["ref"].lower() in existing:
            pin = present.get(raw["ref"].lower())
            if pin is None:
                continue
            missing = {
                field: title
                for field, title in own_titles.items()
                if pin.title_in(field.removeprefix("title_")) is None
            }
            if missing:
                catalogue.update(pin, missing, None, action="import", comment="demo titles")
            continue
        record = dict(raw) | own_titles
        series = record.pop("series", None) or {}
        record["series_name"] = series.get("name")
        record["series_number"] = series.get("number")
        record["series_size"] = series.get("size")
        catalogue.create(record, None, action="import", comment="demo catalogue")
        added += 1
    return added


def demo_titles(path: Path = DEMO_TITLES) -> dict[str, dict[str, Any]]:
    """The demo pins' titles by catalogue number, then language."""
    titles: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return titles
