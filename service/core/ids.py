"""Identifiers. The subject is never kept in clear: only its pairwise pseudonym, the sid."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime

SID_PREFIX = "sid_"
ONE_TIME_PREFIX = "anon_"  # an anonymous check's pseudonym: random, used for one check only
CHECK_PREFIX = "chk_"
_SID_RE = re.compile(r"^sid_[A-Za-z0-9_-]{43}$")
_ONE_TIME_RE = re.compile(r"^anon_[A-Za-z0-9_-]{43}$")
_CHECK_RE = re.compile(r"^chk_([0-9a-z]{1,12})_([A-Za-z0-9_-]{22})$")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def derive_sid(pepper: bytes, client_id: str, subject_ref: str) -> str:
    """``HMAC-SHA256(pepper, client_id ‖ subject_ref)``: a pairwise pseudonym per client.

    A NUL separates the two parts so that ("ab", "c") and ("a", "bc") never collide;
    client ids cannot contain NUL (they come from validated configuration).
    """
    if "\x00" in client_id:
        raise ValueError("client_id must not contain NUL")
    msg = client_id.encode() + b"\x00" + subject_ref.encode()
    return SID_PREFIX + _b64(hmac.new(pepper, msg, hashlib.sha256).digest())


def is_sid(value: str) -> bool:
    return bool(_SID_RE.fullmatch(value))


def new_one_time_sid() -> str:
    """The pseudonym of an anonymous check: 256 random bits, tied to nobody and kept nowhere
    beyond the check, so two visits of one person are never linked."""
    return ONE_TIME_PREFIX + _b64(secrets.token_bytes(32))


def is_one_time_sid(value: str) -> bool:
    return bool(_ONE_TIME_RE.fullmatch(value))


def new_check_id(expires_at: datetime) -> str:
    """A random id that also says when the check expires, so an expired id answers 410."""
    if expires_at.tzinfo is None:
        raise ValueError("check expiry needs an aware datetime")
    return f"{CHECK_PREFIX}{_base36(int(expires_at.timestamp()))}_{_b64(secrets.token_bytes(16))}"


def check_expiry(check_id: str) -> int | None:
    """The expiry (epoch seconds) written into a check id, or None if it is not one of ours."""
    m = _CHECK_RE.fullmatch(check_id)
    return int(m.group(1), 36) if m else None


def new_jti() -> str:
    return _b64(secrets.token_bytes(16))  # 128 random bits


def keyed_hash(key: bytes, value: str) -> str:
    """A keyed hash for values that must be matched but never stored (devices, IPs)."""
    return _b64(hmac.new(key, value.encode(), hashlib.sha256).digest())


def _base36(n: int) -> str:
    if n < 0:
        raise ValueError("base36 needs a non-negative number")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out
