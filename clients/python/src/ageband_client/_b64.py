"""Canonical base64url: the one spelling of each byte string that ageband signs and accepts.

A lenient decoder would also read padding, ``+``/``/`` and non-zero dropped bits, giving one
token several spellings; the service refuses them, and so do we.
"""

from __future__ import annotations

import base64
import re

_COMPACT = re.compile(r"([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)")
_LAST_OF_2 = frozenset("AQgw")  # a last character whose 4 dropped bits are zero
_LAST_OF_3 = frozenset("AEIMQUYcgkosw048")  # ... whose 2 dropped bits are zero


def _tail_ok(segment: str) -> bool:
    rest = len(segment) % 4
    if rest == 0:
        return True
    if rest == 2:
        return segment[-1] in _LAST_OF_2
    if rest == 3:
        return segment[-1] in _LAST_OF_3
    return False


def split_compact(token: str) -> tuple[str, str, str] | None:
    """The three segments of a compact JWS in canonical base64url, or None."""
    m = _COMPACT.fullmatch(token)
    if m is None or not (_tail_ok(m[1]) and _tail_ok(m[2]) and _tail_ok(m[3])):
        return None
    return m[1], m[2], m[3]


def decode(segment: str) -> bytes:
    """The bytes of a segment that ``split_compact`` accepted."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
