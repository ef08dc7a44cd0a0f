"""Shared helpers for the tokens tests: constants and a hand-rolled token forger.

The forger builds JWS compact tokens from scratch (base64url JSON + a signature made with
``cryptography`` or ``hmac``), independent of the code under test, so that each attack test
can change exactly one property of an otherwise valid, correctly signed token.

A uniquely named module rather than conftest: test modules cannot import conftest reliably.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256

from service.tokens import TOKEN_TYPE, SigningKey

ISSUER = "https://ageband.example"
CLIENT = "app-one"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())

Signer = Callable[[bytes], bytes]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


# Every way to spell one segment of a valid token otherwise, one named form per segment:
# - padding: "=" appended (a lenient decoder gives the same bytes);
# - plus, slash: the standard alphabet's "+" or "/" in place of a character;
# - junk: a character of neither alphabet, which a lenient decoder skips;
# - trailing_bits: the last character changed only in the bits decoding drops (same bytes).
# A strict decoder refuses them all, before the signature is looked at.
_SEGMENTS = ("header", "payload", "signature")
_KINDS = ("padding", "plus", "slash", "junk", "trailing_bits")
NON_CANONICAL_FORMS = tuple(f"{kind}_in_{seg}" for seg in _SEGMENTS for kind in _KINDS)
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def with_dropped_bits(value: Any) -> bytes:
    """Compact JSON with trailing spaces (still the same JSON) so that its base64url has a
    partial last quantum: a last character with bits that decoding drops."""
    raw = json.dumps(value, separators=(",", ":")).encode()
    return raw + b" " if len(raw) % 3 == 0 else raw


def _respelled(segment: str, kind: str) -> str:
    if kind == "padding":  # "=" to a whole quantum when the length allows it, else a lone one
        return segment + ("=" * (-len(segment) % 4) or "=")
    if kind in ("plus", "slash"):
        # The standard spelling of the first "-" or "_" (the same bytes to a lenient decoder);
        # JSON text never encodes to those, so there the character replaces the first one.
        url, std = ("-", "+") if kind == "plus" else ("_", "/")
        return segment.replace(url, std, 1) if url in segment else std + segment[1:]
    if kind == "junk":
        return segment[:4] + "*" + segment[4:]
    assert kind == "trailing_bits"
    assert len(segment) % 4 in (2, 3), "no dropped bits in this segment: build it with with_dropped_bits"
    return segment[:-1] + _ALPHABET[_ALPHABET.index(segment[-1]) + 1]


def non_canonical(token: str, form: str) -> str:
    """``token`` with one segment respelled as ``form`` (one of NON_CANONICAL_FORMS)."""
    kind, _, seg = form.partition("_in_")
    parts = token.split(".")
    i = _SEGMENTS.index(seg)
    parts[i] = _respelled(parts[i], kind)
    return ".".join(parts)


def raw_signer(key: SigningKey) -> Signer:
    """Sign with the key's private half using cryptography directly (JWS signature format)."""
    private = key.key.private_key
    if isinstance(private, Ed25519PrivateKey):
        return private.sign
    assert isinstance(private, EllipticCurvePrivateKey)

    def es256(msg: bytes) -> bytes:
        # JWS wants r || s, 32 bytes each, not the DER that cryptography returns.
        r, s = decode_dss_signature(private.sign(msg, ECDSA(SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return es256


def hmac_signer(secret: bytes) -> Signer:
    return lambda msg: hmac.new(secret, msg, hashlib.sha256).digest()


def valid_claims() -> dict[str, Any]:
    return {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "sid_" + "A" * 43,
        "iat": NOW_TS,
        "exp": NOW_TS + 300,
        "jti": "q1w2e3r4t5y6u7i8o9p0aa",
        "age_band": "18+",
        "level": "effective",
        "upper_level": None,
        "method": "self_declaration",
        "jur": "GB",
        "pol": "2025-02",
        "recheck_at": NOW_TS + 86400 * 30,
    }


class Forger:
    """Builds tokens for ``key``: valid by default, with any part overridden."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key

    def header(self, **changes: Any) -> dict[str, Any]:
        header: dict[str, Any] = {"alg": self.key.alg, "typ": TOKEN_TYPE, "kid": self.key.kid}
        header.update(changes)
        return header

    def token(
        self,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        *,
        raw_header: bytes | None = None,
        raw_payload: bytes | None = None,
        sign: Signer | None = None,
    ) -> str:
        h = b64(raw_header) if raw_header is not None else b64json(header or self.header())
        if raw_payload is not None:
            p = b64(raw_payload)
        else:
            p = b64json(valid_claims() if claims is None else claims)
        signing_input = f"{h}.{p}".encode()
        signature = (sign or raw_signer(self.key))(signing_input)
        return f"{h}.{p}.{b64(signature)}"
