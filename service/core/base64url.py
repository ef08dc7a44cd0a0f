"""Canonical base64url (RFC 4648 §5 without padding, as JOSE uses it: RFC 7515 §2).

Every byte string has exactly one canonical encoding. A lenient decoder also accepts padding,
characters of the standard alphabet (``+`` ``/``) and a last character whose dropped bits are
not zero, so one token could be written several ways with the same signature: deny-lists,
replay markers and caches keyed on the string would then see different tokens. Everything
ageband parses as JOSE goes through here first.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["decode", "decode_standard", "is_canonical", "is_canonical_compact"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
# A compact JWS/JWT: three segments of the alphabet, nothing else (no padding, no whitespace).
_COMPACT = re.compile(r"([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)")
# The last character of a segment of length 2 (mod 4) carries 4 dropped bits, of length 3
# (mod 4) 2 dropped bits; canonical means they are zero, i.e. the character is one of these.
_LAST_OF_2 = frozenset("AQgw")
_LAST_OF_3 = frozenset("AEIMQUYcgkosw048")


def _tail_ok(segment: str) -> bool:
    rest = len(segment) % 4
    if rest == 0:
        return True
    if rest == 2:
        return segment[-1] in _LAST_OF_2
    if rest == 3:
        return segment[-1] in _LAST_OF_3
    return False  # one character alone cannot encode a byte


def is_canonical(segment: str) -> bool:
    """True when ``segment`` is the one base64url encoding of the bytes it decodes to."""
    return _ALPHABET.fullmatch(segment) is not None and _tail_ok(segment)


def is_canonical_compact(token: str) -> bool:
    """True when ``token`` is three canonical base64url segments joined by dots.

    One precompiled match and a look at three last characters: cheap enough for every token
    on the decision path."""
    m = _COMPACT.fullmatch(token)
    return m is not None and _tail_ok(m[1]) and _tail_ok(m[2]) and _tail_ok(m[3])


def decode(segment: str) -> bytes:
    """The bytes of a canonical base64url segment; ValueError for any other spelling."""
    if not is_canonical(segment):
        raise ValueError("not canonical base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def decode_standard(value: str) -> bytes:
    """The bytes of canonical padded standard base64 (JOSE ``x5c``: RFC 7515 §4.1.6).

    ValueError for stray characters, wrong padding or non-zero dropped bits: the value must be
    exactly what encoding its bytes gives back."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not canonical base64") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise ValueError("not canonical base64")
    return raw
