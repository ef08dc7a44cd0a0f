"""The image checks both estimation providers share (providers/images.py)."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from PIL import Image

from providers.errors import (
    ImageTooLarge,
    ImageTooManyPixels,
    ImageTooSmall,
    ImageUnreadable,
    UnsupportedImageType,
)
from providers.evidence import parse_evidence
from providers.images import ImageEvidence, ImageLimits, decode, encode_jpeg, image_bytes, sniff
from service.core.errors import InvalidEvidence

LIMITS = ImageLimits()
CANARY = "cAnArY-exif-7d41-pii"


def _image(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 200, 30) if mode == "RGB" else 1).save(out, format=fmt, **save)
    return out.getvalue()


def _with_exif(orientation: int | None = None) -> bytes:
    """A JPEG whose EXIF holds a canary (description, artist, GPS-ish text) and an orientation."""
    exif = Image.Exif()
    exif[0x010E] = CANARY  # ImageDescription
    exif[0x013B] = CANARY  # Artist
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    Image.new("RGB", (80, 40), (200, 10, 10)).save(out, format="JPEG", exif=exif.tobytes(), comment=CANARY)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "name"), [("JPEG", "JPEG"), ("PNG", "PNG"), ("WEBP", "WEBP")])
def test_accepted_types_are_sniffed_from_their_bytes(fmt: str, name: str) -> None:
    data = _image(fmt)
    assert sniff(data) == name
    image = decode(data, LIMITS, max_side=1024)
    assert image.mode == "RGB" and image.size == (64, 48)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO"])
def test_other_image_types_are_refused_with_415(fmt: str) -> None:
    with pytest.raises(UnsupportedImageType) as caught:
        decode(_image(fmt, (32, 32)), LIMITS, max_side=1024)
    assert caught.value.status == 415 and caught.value.code == "unsupported_image_type"


def test_a_claimed_type_is_not_trusted() -> None:
    # A data URL that says PNG around GIF bytes: the bytes decide.
    text = "data:image/png;base64," + base64.b64encode(_image("GIF", (32, 32))).decode()
    data = image_bytes(parse_evidence(ImageEvidence, {"image": text}).image, LIMITS)
    with pytest.raises(UnsupportedImageType):
        decode(data, LIMITS, max_side=1024)


def test_a_png_header_on_jpeg_data_is_unreadable() -> None:
    data = b"\x89PNG\r\n\x1a\n" + _image("JPEG")[8:]
    with pytest.raises(ImageUnreadable) as caught:
        decode(data, LIMITS, max_side=1024)
    assert caught.value.status == 422 and caught.value.code == "image_unreadable"


def test_a_truncated_image_is_unreadable() -> None:
    data = _image("PNG", (400, 400))
    with pytest.raises(ImageUnreadable):
        decode(data[: len(data) // 2], LIMITS, max_side=1024)


def test_size_limit_is_applied_to_base64_before_decoding_and_to_bytes() -> None:
    small = ImageLimits(max_bytes=2048)
    with pytest.raises(ImageTooLarge) as caught:
        image_bytes("A" * 4000, small)  # never decoded: the text alone is too long
    assert caught.value.status == 413 and caught.value.extra["limit"] == 2048
    with pytest.raises(ImageTooLarge):
        image_bytes(b"\xff\xd8\xff" + b"\0" * 3000, small)
    assert image_bytes(base64.b64encode(b"x" * 2048).decode(), small) == b"x" * 2048


def test_default_size_limit_is_5_mib() -> None:
    assert LIMITS.max_bytes == 5 * 1024 * 1024
    with pytest.raises(ImageTooLarge):
        image_bytes(b"\0" * (5 * 1024 * 1024 + 1), LIMITS)


def test_bad_base64_is_unreadable_and_bad_characters_are_schema_errors() -> None:
    with pytest.raises(ImageUnreadable):
        image_bytes("QUJDRA", LIMITS)  # padding missing
    with pytest.raises(InvalidEvidence) as caught:
        parse_evidence(ImageEvidence, {"image": "not base64!"})
    assert caught.value.code == "invalid_evidence"


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header promises width x height pixels, with one empty data chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # 6000 x 6000 one-bit pixels: a few kilobytes of PNG, 108 MB once decoded as RGB.
    bomb = _image("PNG", (6000, 6000), mode="1")
    assert len(bomb) < 100_000
    with pytest.raises(ImageTooManyPixels) as caught:
        decode(bomb, LIMITS, max_side=1024)
    assert caught.value.status == 422 and caught.value.code == "image_too_many_pixels"
    # A header promising 400 megapixels, beyond Pillow's own limit: its bomb error becomes the
    # same 422, not a crash; and one just over ours is refused before any pixel is read.
    for width, height in ((20000, 20000), (6000, 4001)):
        with pytest.raises(ImageTooManyPixels):
            decode(_png_header_only(width, height), LIMITS, max_side=1024)


def test_too_small_to_hold_a_face() -> None:
    with pytest.raises(ImageTooSmall) as caught:
        decode(_image("PNG", (16, 200)), LIMITS, max_side=1024)
    assert caught.value.code == "image_too_small"


def test_large_images_are_scaled_down() -> None:
    image = decode(_image("JPEG", (3000, 1500)), LIMITS, max_side=1000)
    assert max(image.size) == 1000


def test_exif_orientation_is_applied_and_no_metadata_survives() -> None:
    data = _with_exif(orientation=6)  # rotated 90°: the 80 x 40 photo is 40 x 80 upright
    assert CANARY.encode() in data
    image = decode(data, LIMITS, max_side=1024)
    assert image.size == (40, 80)
    assert image.info == {}
    assert CANARY not in repr(image.getexif())
    fresh = encode_jpeg(image)
    assert CANARY.encode() not in fresh
    assert not Image.open(io.BytesIO(fresh)).getexif()


def test_errors_never_quote_the_image() -> None:
    text = base64.b64encode(_with_exif() * 3).decode()
    for exc_type, call in (
        (ImageUnreadable, lambda: decode(base64.b64decode(text)[:300], LIMITS, max_side=1024)),
        (ImageTooLarge, lambda: image_bytes(text, ImageLimits(max_bytes=1024))),
    ):
        with pytest.raises(exc_type) as caught:
            call()
        exc = caught.value
        assert exc.__context__ is None and exc.__cause__ is None
        for shown in (str(exc), repr(exc), repr(exc.args), repr(exc.extra)):
            assert CANARY not in shown and text[:40] not in shown
