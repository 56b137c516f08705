"""Where collectors' photos of their own copies live, removing them, and how the
lists ask the features above them whether they show a collector someone's copy."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from marketplace.catalogue.media import catalogue_photo_dir
from marketplace.core.photos import remove_files


class HaveShownTo(Protocol):
    """Whether a match or a trade shows collector `viewer_id` the copy `have_id`
    (the matches and trades features answer; `create_app` registers it)."""

    def __call__(self, viewer_id: int, have_id: int) -> bool: ...


def have_photo_dir() -> Path:
    """Collectors' photos of their own copies."""
    return catalogue_photo_dir() / "haves"


def remove_have_photo_files(names: list[str]) -> None:
    remove_files(have_photo_dir(), *names)
