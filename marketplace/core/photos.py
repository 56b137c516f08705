"""Photo uploads, for catalogue pins and collectors' own copies alike.

Nothing an uploader sends is kept as sent: the type is decided by decoding the
content (not the name or the declared type), only JPEG, PNG and WebP are accepted,
decompression bombs are refused before decoding, and the image is re-encoded by
Pillow — which drops EXIF, GPS and any trailing payload — under a random name, with
a thumbnail and a perceptual hash for spotting duplicates.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

import imagehash
from flask_babel import format_decimal
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.core.errors import DomainError

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # 40 megapixels: any real photo of a pin is far smaller
MAX_SIDE = 2400  # stored images are scaled down to this
THUMB_SIDE = 320
ACCEPTED = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


class PhotoTooLarge(DomainError):
    status = 413
    code = "too_large"


@dataclass(frozen=True)
class StoredImage:
    filename: str
    thumbnail: str
    width: int
    height: int
    phash: str


def store_photo(data: bytes, *, storage_dir: Path) -> StoredImage:
    """Validate, re-encode and store an uploaded image; raise DomainError (field
    "photo") saying what is wrong."""
    if not data:
        raise DomainError(_("The file is empty."), field="photo")
    if len(data) > MAX_BYTES:
        raise PhotoTooLarge(
            _(
                "The photo is %(size)s MB; the limit is %(limit)d MB.",
                size=format_decimal(round(len(data) / 1_048_576, 1)),
                limit=MAX_BYTES // 1_048_576,
            ),
            field="photo",
        )
    image = _decode(data)
    image = ImageOps.exif_transpose(image)  # keep the orientation, lose the EXIF
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    has_alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")

    storage_dir.mkdir(parents=True, exist_ok=True)
    stem = secrets.token_urlsafe(18)
    filename, thumbname = f"{stem}.webp", f"{stem}.thumb.webp"
    image.save(storage_dir / filename, "WEBP", quality=85, method=4)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb.save(storage_dir / thumbname, "WEBP", quality=80, method=4)
    return StoredImage(
        filename=filename,
        thumbnail=thumbname,
        width=image.width,
        height=image.height,
        phash=str(imagehash.phash(image.convert("RGB"))),
    )


def _decode(data: bytes) -> Image.Image:
    too_many = DomainError(
        _(
            "The image has too many pixels (limit %(limit)d megapixels).",
            limit=MAX_PIXELS // 1_000_000,
        ),
        field="photo",
    )
    with warnings.catch_warnings():
        # Pillow warns about huge images and raises on enormous ones; both are
        # refusals here, and the header is checked before any pixel is decoded.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED:
                raise DomainError(
                    _(
                        "%(format)s images are not accepted; use JPEG, PNG or WebP.",
                        format=image.format,
                    )
                    if image.format
                    else _("This image format is not accepted; use JPEG, PNG or WebP."),
                    field="photo",
                )
            if image.width * image.height > MAX_PIXELS:
                raise too_many
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_many from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise DomainError(
                _("This file is not a readable JPEG, PNG or WebP image."), field="photo"
            ) from None
    return image


def hash_distance(a: str, b: str) -> int:
    """Bits that differ between two perceptual hashes (0 = the same picture)."""
    return int(imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b))


def remove_files(storage_dir: Path, *names: str) -> None:
    for name in names:
        (storage_dir / name).unlink(missing_ok=True)
