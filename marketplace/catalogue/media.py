"""Where catalogue photos live and how a page or an API response points at a pin's
picture (its photo, or the drawn stand-in when it has none)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app, url_for


def catalogue_photo_dir() -> Path:
    """Catalogue and submission photos (served by the catalogue's media route)."""
    return Path(current_app.instance_path) / "photos"


def pin_image(pin: Any, side: str = "obverse", thumb: bool = True) -> str:
    photo = pin.photo(side) if hasattr(pin, "photo") else None
    if photo is not None:
        return url_for("catalogue.media", name=photo.thumbnail if thumb else photo.filename)
    return url_for("catalogue.stand_in", pin_id=pin.id)
