"""Where collectors' photos of their own copies live, and removing them."""

from __future__ import annotations

from pathlib import Path

from marketplace.catalogue.media import catalogue_photo_dir
from marketplace.core.photos import remove_files


def have_photo_dir() -> Path:
    """Collectors' photos of their own copies."""
    return catalogue_photo_dir() / "haves"


def remove_have_photo_files(names: list[str]) -> None:
    remove_files(have_photo_dir(), *names)
