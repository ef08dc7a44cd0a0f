"""The checks a compact JWS from ageband passes before its payload is read: one spelling, a
header of exactly ``alg``, ``typ`` and ``kid``, the expected ``typ``, a key of the JWKS pinned to
its algorithm, and the signature."""

from __future__ import annotations

import json
from typing import Any

from ageband_client import _b64
from ageband_client.keys import KID, SUPPORTED, KeySet

HEADER_MEMBERS = frozenset({"alg", "typ", "kid"})


class JoseFailure(ValueError):
    """Why a JWS was refused; ``unknown_kid`` says a JWKS refetch may help."""

    def __init__(self, reason: str, *, unknown_kid: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unknown_kid = unknown_kid


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers reading {"alg":"EdDSA","alg":"none"} differently is a classic bypass.
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member")
    return out


def json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw, object_pairs_hook=_no_duplicates)
    except ValueError:  # also UnicodeDecodeError
        return None
    return value if isinstance(value, dict) else None


def verified_payload(token: str, keys: KeySet, typ: str) -> dict[str, Any]:
    """The payload of a JWS signed by a key of ``keys`` with header ``typ``, or JoseFailure."""
    segments = _b64.split_compact(token)
    if segments is None:
        if not token.isascii() or token.count(".") != 2:
            raise JoseFailure("malformed")
        raise JoseFailure("non-canonical encoding")
    head, body, sig = segments
    header = json_object(_b64.decode(head))
    if header is None:
        raise JoseFailure("malformed header")
    if not header.keys() <= HEADER_MEMBERS:
        raise JoseFailure("unexpected header")  # crit, jku, x5u, jwk, x5c: never ours
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in SUPPORTED:
        raise JoseFailure("algorithm not allowed")
    if header.get("typ") != typ:
        raise JoseFailure("wrong typ")
    kid = header.get("kid")
    if not isinstance(kid, str) or KID.fullmatch(kid) is None:
        raise JoseFailure("malformed kid")
    key = keys.find(kid)
    if key is None:
        raise JoseFailure("unknown kid", unknown_kid=True)
    if key.alg != alg:
        raise JoseFailure("algorithm does not match key")
    if not key.verify(f"{head}.{body}".encode("ascii"), _b64.decode(sig)):
        raise JoseFailure("bad signature")
    payload = json_object(_b64.decode(body))
    if payload is None:
        raise JoseFailure("malformed payload")
    return payload
