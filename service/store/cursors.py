"""Opaque page cursors naming a (day, id) position, shared by the due list and content lists."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date

from service.store.errors import InvalidCursor


def encode_position(day: date, ident: str) -> str:
    """Opaque to callers; it names the last entry of a page, which the next one follows."""
    raw = f"{day.isoformat()}|{ident}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_position(cursor: str, pattern: re.Pattern[str], message: str) -> tuple[date, str]:
    """The (day, id) a page continues after, where ``pattern`` matches ``day|id``; else
    InvalidCursor with ``message``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        m = pattern.fullmatch(raw)
        position = (date.fromisoformat(m.group(1)), m.group(2)) if m else None
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        position = None
    # Re-encoding must give the same text: b64decode silently skips stray characters.
    if position is None or encode_position(*position) != cursor:
        raise InvalidCursor(message)
    return position
