"""IETF Token Status List (draft-ietf-oauth-status-list): references and Status List Tokens.

A credential names its entry as ``status.status_list = {"idx": n, "uri": "..."}`` (an SD-JWT VC
claim, or the ``status`` of an mdoc's MSO). The list at ``uri`` is a Status List Token: a JWT
(``typ: statuslist+jwt``) whose ``sub`` is that URI and whose ``status_list`` holds ``bits`` per
entry (1, 2, 4 or 8) and ``lst``, the ZLIB-compressed byte array in base64url. Entry ``idx``
is read from the least significant bits of its byte first. Pure: no I/O; ``now`` is passed in.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jws import JWSRegistry

from providers.credentials.errors import MALFORMED, Rejected
from providers.credentials.trust import TrustList, load_der_chain
from service.core import base64url

TOKEN_TYPE = "statuslist+jwt"  # noqa: S105 - a media type, not a credential
MEDIA_TYPE = "application/statuslist+jwt"
VALID, INVALID, SUSPENDED = 0, 1, 2
MAX_TOKEN = 1024 * 1024
# A list of a million 8-bit entries is 1 MiB; more is not a status list but a decompression bomb.
MAX_ENTRIES_BYTES = 8 * 1024 * 1024
_BITS = frozenset({1, 2, 4, 8})
_FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "crit"})
_REGISTRY = JWSRegistry(algorithms=["ES256"])
_REGISTRY.max_header_length = 8 * 1024
_REGISTRY.max_payload_length = MAX_TOKEN


class StatusListInvalid(Exception):
    """A Status List Token that cannot be used; the message is a fixed phrase for logs."""


@dataclass(frozen=True, slots=True)
class StatusReference:
    uri: str
    idx: int


@dataclass(frozen=True, slots=True)
class StatusList:
    bits: int
    entries: bytes
    fresh_until: datetime  # when it must be fetched again: its ttl, its exp, our own cap

    def status(self, idx: int) -> int | None:
        """The entry's status value, or None when ``idx`` is past the end of the list."""
        position = idx * self.bits
        byte = position // 8
        if byte >= len(self.entries):
            return None
        return (self.entries[byte] >> (position % 8)) & ((1 << self.bits) - 1)


def status_reference(claims: Mapping[Any, Any]) -> StatusReference | None:
    """The credential's status list entry; None when it names none, MALFORMED when it is not one."""
    status = claims.get("status")
    if status is None:
        return None
    entry = status.get("status_list") if isinstance(status, Mapping) else None
    if not isinstance(entry, Mapping):
        raise Rejected(MALFORMED)
    idx, uri = entry.get("idx"), entry.get("uri")
    if type(idx) is not int or idx < 0 or not isinstance(uri, str) or not 0 < len(uri) <= 2048:
        raise Rejected(MALFORMED)
    return StatusReference(uri, idx)


def read_status_list(
    token: str,
    uri: str,
    now: datetime,
    *,
    keys: list[ec.EllipticCurvePublicKey],
    trust: TrustList,
    max_age: timedelta,
) -> StatusList:
    """The verified list of the Status List Token ``token`` fetched from ``uri``.

    Signed (ES256, pinned) by one of ``keys`` when any are configured, otherwise by the leaf of
    its ``x5c`` chain, validated against ``trust`` like a credential's issuer; ``sub`` must be
    ``uri``; not expired at ``now``; kept until ``ttl``, ``exp`` or ``max_age``, the earliest."""
    if len(token) > MAX_TOKEN or not base64url.is_canonical_compact(token):
        raise StatusListInvalid("not a compact JWS in canonical base64url")
    try:
        header = jws.extract_compact(token.encode("ascii"), registry=_REGISTRY).headers()
    except (JoseError, ValueError):
        raise StatusListInvalid("unreadable header") from None
    if header.get("typ") != TOKEN_TYPE or header.get("alg") != "ES256" or _FORBIDDEN_HEADERS & set(header):
        raise StatusListInvalid("not a statuslist+jwt signed with ES256")
    payload = _verified_payload(token, keys or [_x5c_key(header, trust, now)])
    if payload.get("sub") != uri:
        raise StatusListInvalid("sub is not the URI it was fetched from")
    t = now.timestamp()
    iat, exp, ttl = payload.get("iat"), payload.get("exp"), payload.get("ttl")
    if not _is_int(iat) or (exp is not None and not _is_int(exp)) or (ttl is not None and not _is_int(ttl)):
        raise StatusListInvalid("iat, exp or ttl of the wrong type")
    if exp is not None and exp <= t:
        raise StatusListInvalid("expired")
    # Seconds, bounded before any datetime is made: a hostile ttl or exp cannot overflow one.
    keep = max_age.total_seconds()
    if ttl is not None:
        keep = min(keep, max(ttl, 0))
    if exp is not None:
        keep = min(keep, exp - t)
    fresh_until = now + timedelta(seconds=keep)
    bits, entries = _entries(payload.get("status_list"))
    return StatusList(bits, entries, fresh_until)


def _verified_payload(token: str, keys: list[ec.EllipticCurvePublicKey]) -> dict[str, Any]:
    for key in keys:
        try:
            jwk = ECKey.import_key(key)
            signed = jws.deserialize_compact(token, jwk, algorithms=["ES256"], registry=_REGISTRY)
        except JoseError:
            continue
        try:
            payload = json.loads(signed.payload)
        except ValueError:
            raise StatusListInvalid("payload is not JSON") from None
        if not isinstance(payload, dict):
            raise StatusListInvalid("payload is not an object")
        return payload
    raise StatusListInvalid("not signed by a trusted key")


def _x5c_key(header: Mapping[str, Any], trust: TrustList, now: datetime) -> ec.EllipticCurvePublicKey:
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not all(isinstance(c, str) for c in x5c):
        raise StatusListInvalid("no x5c chain and no configured key")
    try:
        return trust.verify_chain(load_der_chain(base64url.decode_standard(c) for c in x5c), now)
    except (Rejected, ValueError):
        raise StatusListInvalid("x5c chain not trusted") from None


def _entries(value: object) -> tuple[int, bytes]:
    if not isinstance(value, Mapping):
        raise StatusListInvalid("no status_list")
    bits, lst = value.get("bits"), value.get("lst")
    if type(bits) is not int or bits not in _BITS or not isinstance(lst, str):
        raise StatusListInvalid("status_list bits or lst invalid")
    try:
        inflater = zlib.decompressobj()
        entries = inflater.decompress(base64url.decode(lst), MAX_ENTRIES_BYTES)
    except (ValueError, zlib.error):
        raise StatusListInvalid("lst is not ZLIB data in canonical base64url") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise StatusListInvalid("lst too large or truncated")
    return bits, entries


def _is_int(value: object) -> bool:
    return type(value) is int
