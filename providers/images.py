"""Image evidence for the estimation providers, checked before and while it is decoded.

An image arrives as base64 text (the JSON API; a ``data:image/...;base64,`` prefix is
accepted) or as raw bytes (a multipart upload). Every check gives its own 4xx error:

- size: at most ``max_bytes`` (default 5 MiB) decoded, checked on the base64 text before
  it is decoded (413 ``image_too_large``);
- type: sniffed from the magic bytes, whatever the client claims; only JPEG, PNG and WebP,
  and Pillow is then allowed only the sniffed decoder (415 ``unsupported_image_type``);
- decompression bombs: the pixel count in the header is checked before any pixel is
  decoded (422 ``image_too_many_pixels``); JPEGs are decoded straight at a reduced scale;
- damage: truncated or corrupt data, bad base64 (422 ``image_unreadable``); too small to
  hold a face (422 ``image_too_small``).

Metadata: only the EXIF orientation is applied (so that faces are upright); nothing else is
read, and the decoded image carries no metadata, so nothing from EXIF can reach a log, a
vendor or an error. Decoding is CPU work: callers run it in a worker thread.
"""

from __future__ import annotations

import binascii
import io
import warnings
from typing import Annotated, Final, Literal

from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from providers.errors import (
    ImageTooLarge,
    ImageTooManyPixels,
    ImageTooSmall,
    ImageUnreadable,
    UnsupportedImageType,
)

MIB: Final = 1024 * 1024
DEFAULT_MAX_BYTES: Final = 5 * MIB
# 24 megapixels: above what phone cameras save by default, and 72 MB once decoded as RGB.
DEFAULT_MAX_PIXELS: Final = 24_000_000

# The Pillow format name per accepted type, and the magic bytes that identify it.
MEDIA_TYPES: Final = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"

# Standard base64 (RFC 4648, section 4) without line breaks, optionally as a data URL.
_BASE64: Final = r"^(data:image/(jpeg|png|webp);base64,)?[A-Za-z0-9+/]+={0,2}$"
Base64Image = Annotated[str, StringConstraints(min_length=1, pattern=_BASE64)]


class ImageLimits(BaseModel):
    """What an image may be; part of each estimation provider's configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1024, le=20 * MIB)
    max_pixels: int = Field(default=DEFAULT_MAX_PIXELS, ge=10_000, le=100_000_000)
    min_side: int = Field(default=32, ge=1, le=4096)


class ImageEvidence(BaseModel):
    """The evidence both estimation providers accept."""

    model_config = ConfigDict(extra="forbid", strict=True)

    image: Base64Image | bytes = Field(description="JPEG, PNG or WebP: base64 text, or bytes when uploaded.")
    device: Literal["mobile", "laptop", "unknown"] = Field(
        default="unknown", description="What took the photo; vendors tune their models per device."
    )


def image_bytes(value: str | bytes, limits: ImageLimits) -> bytes:
    """The raw image bytes, with the size limit applied before base64 is decoded."""
    if isinstance(value, bytes):
        data = value
    else:
        payload = value.partition(",")[2] if value.startswith("data:") else value
        if len(payload) > 4 * -(-limits.max_bytes // 3):
            raise ImageTooLarge(f"the image exceeds {limits.max_bytes} bytes", limit=limits.max_bytes)
        data = _b64decode(payload)
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"the image exceeds {limits.max_bytes} bytes", limit=limits.max_bytes)
    return data


def _b64decode(payload: str) -> bytes:
    try:
        return binascii.a2b_base64(payload, strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    # Raised outside the except block: the binascii error is not kept as __context__.
    raise ImageUnreadable("the image is not valid base64")


def sniff(data: bytes) -> str:
    """The Pillow format the magic bytes announce; the client's claimed type is not trusted."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    raise UnsupportedImageType(
        "the image is not a JPEG, PNG or WebP file", accepted=sorted(MEDIA_TYPES.values())
    )


def decode(data: bytes, limits: ImageLimits, *, max_side: int) -> Image.Image:
    """An upright RGB image no larger than ``max_side`` either way, with no metadata."""
    fmt = sniff(data)
    with warnings.catch_warnings():
        # Pillow warns about odd but harmless files; only its bomb warning means refusal.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data, fmt)
        try:
            width, height = image.size
            if width * height > limits.max_pixels:
                raise ImageTooManyPixels(
                    f"the image has more than {limits.max_pixels} pixels", limit=limits.max_pixels
                )
            if min(width, height) < limits.min_side:
                raise ImageTooSmall(f"the image is under {limits.min_side} pixels on a side")
            return _pixels(image, max_side)
        finally:
            image.close()


def _open(data: bytes, fmt: str) -> Image.Image:
    """Reads the header only; the sniffed format's decoder is the only one Pillow may use."""
    bomb = False
    try:
        return Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        bomb = True
    except Exception:  # noqa: BLE001, S110 - a decoder fed hostile bytes may raise anything
        pass
    if bomb:
        raise ImageTooManyPixels("the image has too many pixels")
    raise ImageUnreadable("the image data is damaged or not what its header says")


def _pixels(image: Image.Image, max_side: int) -> Image.Image:
    try:
        image.draft("RGB", (max_side, max_side))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
        image.load()
        # Reads only the Orientation tag; the result keeps no EXIF.
        upright = ImageOps.exif_transpose(image)
        rgb = upright.convert("RGB")
        rgb.thumbnail((max_side, max_side))
    except (ImageTooManyPixels, ImageTooSmall):
        raise
    except Exception:  # noqa: BLE001 - as above: damage shows up while decoding, in any form
        rgb = None
    if rgb is None:
        raise ImageUnreadable("the image data is damaged or not what its header says")
    rgb.info.clear()
    return rgb


def encode_jpeg(image: Image.Image, quality: int = 95) -> bytes:
    """A fresh JPEG of the pixels alone: no EXIF, ICC profile or comments travel on."""
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()
