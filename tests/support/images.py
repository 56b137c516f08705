"""Image files made on the fly for photo uploads."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 64), colour: str = "red",
                exif: bool = False) -> bytes:  # fmt: skip
    """An encoded image; with `exif`, one that carries a camera make to be stripped."""
    out = io.BytesIO()
    image = Image.new("RGB", size, colour)
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        image.save(out, fmt, exif=data)
    else:
        image.save(out, fmt)
    return out.getvalue()
