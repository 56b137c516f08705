"""The demo catalogue: real pins (facts left empty where unknown) shipped with
the app as JSON, loaded once."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.catalogue.models import Pin
from marketplace.catalogue.operations.service import Catalogue
from marketplace.catalogue.operations.themes import ensure_themes

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo_data" / "pins.json"


def load_demo_catalogue(session: Session, path: Path = DEMO_FILE) -> int:
    """Load the demo catalogue (real pins, facts left empty where unknown);
    idempotent: pins already present by ref are left alone."""
    records = json.loads(path.read_text(encoding="utf-8"))
    ensure_themes(session)
    existing = {r.lower() for r in session.scalars(select(Pin.ref))}
    catalogue = Catalogue(session)
    added = 0
    for raw in records:
        if raw["ref"].lower() in existing:
            continue
        record = dict(raw)
        series = record.pop("series", None) or {}
        record["series_name"] = series.get("name")
        record["series_number"] = series.get("number")
        record["series_size"] = series.get("size")
        catalogue.create(record, None, action="import", comment="demo catalogue")
        added += 1
    return added
