"""SD-JWT VC presentations (RFC 9901 SD-JWT, IETF SD-JWT VC) that disclose ``age_over_NN``.

Checks: the issuer JWT's ``typ``, pinned ES256 and its ``x5c`` chain against the trust list;
``vct``; ``exp``/``nbf``/``iat``; every disclosure referenced by an ``_sd`` digest or an array
element's ``...`` digest, at any depth (one that is not was tampered with), so the PID profile's
``age_equal_or_over`` object with its ``18`` disclosed inside it is read; and a key-binding
JWT (``kb+jwt``, ES256, signed by the ``cnf`` key) whose ``aud``, ``nonce``, fresh ``iat`` and
``sd_hash`` bind it to this verifier, this check and exactly these disclosures. Verification
uses joserfc, the JOSE library of the rest of the service.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jws import JWSRegistry

from providers.credentials.age_claims import age_over_claims, interval_of
from providers.credentials.binding import Binding
from providers.credentials.errors import (
    BINDING_MISMATCH,
    CREDENTIAL_EXPIRED,
    INVALID_SIGNATURE,
    MALFORMED,
    TAMPERED,
    UNSUPPORTED_HANDOVER,
    WRONG_TYPE,
    Rejected,
)
from providers.credentials.status import StatusReference, status_reference
from providers.credentials.trust import TrustList, load_der_chain
from service.core import base64url
from service.core.intervals import AgeInterval

ISSUER_TYPES = frozenset({"dc+sd-jwt", "vc+sd-jwt"})
# Header parameters that would let the presenter pick the key or change the rules.
_FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "crit"})
LEEWAY = timedelta(seconds=30)
MAX_DEPTH = 16  # nesting of objects and arrays in a payload; real credentials use a few levels
# ES256 only; the header holds an x5c chain, well over joserfc's default 512-byte header limit.
_REGISTRY = JWSRegistry(algorithms=["ES256"])
_REGISTRY.max_header_length = 8 * 1024


def verify_sd_jwt(
    presentation: str,
    trust: TrustList,
    binding: Binding,
    now: datetime,
    vct: frozenset[str],
    max_kb_age: timedelta = timedelta(minutes=5),
) -> tuple[AgeInterval, StatusReference | None]:
    """The interval the disclosed claims imply, and the ``status`` claim's list entry (if any)."""
    parts = presentation.split("~")
    if len(parts) < 2:
        raise Rejected(MALFORMED)
    issuer_jwt, disclosures, kb_jwt = parts[0], parts[1:-1], parts[-1]
    if not kb_jwt:
        raise Rejected(BINDING_MISMATCH)  # an SD-JWT without key binding can be replayed by anyone
    # One spelling per presentation: its digest is the replay marker, and sd_hash covers it.
    if not base64url.is_canonical_compact(issuer_jwt) or not base64url.is_canonical_compact(kb_jwt):
        raise Rejected(MALFORMED)
    if not all(base64url.is_canonical(d) for d in disclosures):
        raise Rejected(MALFORMED)

    header = _header(issuer_jwt)
    if header.get("typ") not in ISSUER_TYPES:
        raise Rejected(WRONG_TYPE)
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not all(isinstance(c, str) for c in x5c):
        raise Rejected(MALFORMED)
    issuer_key = trust.verify_chain(load_der_chain(_b64(c, url=False) for c in x5c), now)
    payload = _verified_claims(issuer_jwt, ECKey.import_key(issuer_key))
    if payload.get("vct") not in vct:
        raise Rejected(WRONG_TYPE)
    _check_times(payload, now)
    if payload.get("_sd_alg", "sha-256") != "sha-256":
        raise Rejected(MALFORMED)

    claims = _disclose(payload, disclosures)
    _check_key_binding(kb_jwt, payload, "~".join(parts[:-1]) + "~", binding, now, max_kb_age)
    return interval_of(age_over_claims(claims)), status_reference(payload)


def _b64(value: str, *, url: bool = True) -> bytes:
    """Canonical base64url, or (``x5c``) canonical standard base64; anything else is malformed."""
    try:
        return base64url.decode(value) if url else base64url.decode_standard(value)
    except ValueError:
        raise Rejected(MALFORMED) from None


def _digest(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("ascii")).digest()).rstrip(b"=").decode()


def _header(token: str) -> Mapping[str, Any]:
    try:
        header = jws.extract_compact(token.encode("ascii"), registry=_REGISTRY).headers()
    except (JoseError, ValueError, UnicodeEncodeError):
        raise Rejected(MALFORMED) from None
    if header.get("alg") != "ES256" or _FORBIDDEN_HEADERS & set(header):
        raise Rejected(INVALID_SIGNATURE)
    return header


def _verified_claims(token: str, key: ECKey) -> dict[str, Any]:
    try:
        signed = jws.deserialize_compact(token, key, algorithms=["ES256"], registry=_REGISTRY)
        payload = json.loads(signed.payload)
    except (JoseError, ValueError):
        raise Rejected(INVALID_SIGNATURE) from None
    if not isinstance(payload, dict):
        raise Rejected(MALFORMED)
    return payload


def _number(claims: Mapping[str, Any], name: str) -> int | float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected(MALFORMED)
    return value


def _check_times(claims: Mapping[str, Any], now: datetime) -> None:
    t = now.timestamp()
    leeway = LEEWAY.total_seconds()
    exp, nbf, iat = _number(claims, "exp"), _number(claims, "nbf"), _number(claims, "iat")
    if exp is None:
        raise Rejected(MALFORMED)  # a proof of age that never expires is not accepted
    if exp <= t - leeway or (nbf is not None and nbf > t + leeway) or (iat is not None and iat > t + leeway):
        raise Rejected(CREDENTIAL_EXPIRED)


def _disclose(payload: dict[str, Any], disclosures: list[str]) -> dict[str, Any]:
    """The payload with every disclosure put in place (RFC 9901 §7.1), at any depth: an object's
    ``_sd`` digests become its properties, an array's ``{"...": digest}`` elements its values.

    Every disclosure must be referenced by a digest in the signed payload or inside another
    disclosure (one that is not was added: tampered); a digest may be used once; digests with
    no disclosure are decoys (or claims withheld) and are dropped."""
    if len(set(disclosures)) != len(disclosures):
        raise Rejected(MALFORMED)
    by_digest: dict[str, list[Any]] = {}
    for disclosure in disclosures:
        try:
            decoded = json.loads(_b64(disclosure))
        except ValueError:
            raise Rejected(MALFORMED) from None
        if not isinstance(decoded, list) or len(decoded) not in (2, 3) or not isinstance(decoded[0], str):
            raise Rejected(MALFORMED)
        by_digest[_digest(disclosure)] = decoded
    used: set[str] = set()
    claims = _resolve(payload, by_digest, used, depth=0)
    if used != set(by_digest):
        raise Rejected(TAMPERED)
    assert isinstance(claims, dict)  # noqa: S101 - an object resolves to an object
    claims.pop("_sd_alg", None)
    return claims


def _resolve(value: Any, by_digest: Mapping[str, list[Any]], used: set[str], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise Rejected(MALFORMED)
    if isinstance(value, dict):
        return _resolve_object(value, by_digest, used, depth)
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict) and "..." in item:
                digest = item["..."]
                if len(item) != 1 or not isinstance(digest, str):
                    raise Rejected(MALFORMED)
                decoded = _take(digest, by_digest, used)
                if decoded is None:
                    continue  # a decoy, or an element not disclosed
                if len(decoded) != 2:
                    raise Rejected(MALFORMED)
                out.append(_resolve(decoded[1], by_digest, used, depth + 1))
            else:
                out.append(_resolve(item, by_digest, used, depth + 1))
        return out
    return value


def _resolve_object(
    obj: dict[str, Any], by_digest: Mapping[str, list[Any]], used: set[str], depth: int
) -> dict[str, Any]:
    digests = obj.get("_sd", [])
    if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
        raise Rejected(MALFORMED)
    if len(set(digests)) != len(digests):
        raise Rejected(MALFORMED)
    out = {k: _resolve(v, by_digest, used, depth + 1) for k, v in obj.items() if k != "_sd"}
    for digest in digests:
        decoded = _take(digest, by_digest, used)
        if decoded is None:
            continue
        if len(decoded) != 3 or not isinstance(decoded[1], str):
            raise Rejected(MALFORMED)
        name = decoded[1]
        if name in out or name in ("_sd", "_sd_alg", "..."):
            raise Rejected(MALFORMED)
        out[name] = _resolve(decoded[2], by_digest, used, depth + 1)
    return out


def _take(digest: str, by_digest: Mapping[str, list[Any]], used: set[str]) -> list[Any] | None:
    decoded = by_digest.get(digest)
    if decoded is None:
        return None
    if digest in used:
        raise Rejected(MALFORMED)  # one disclosure in two places
    used.add(digest)
    return decoded


def _check_key_binding(
    kb_jwt: str,
    payload: Mapping[str, Any],
    presented: str,
    binding: Binding,
    now: datetime,
    max_age: timedelta,
) -> None:
    cnf = payload.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, Mapping) else None
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
        raise Rejected(MALFORMED)
    try:
        holder = ECKey.import_key(dict(jwk))
    except (JoseError, ValueError, TypeError):
        raise Rejected(MALFORMED) from None
    try:
        header = _header(kb_jwt)
    except Rejected:
        raise Rejected(BINDING_MISMATCH) from None
    if header.get("typ") != "kb+jwt":
        raise Rejected(BINDING_MISMATCH)
    try:
        kb = _verified_claims(kb_jwt, holder)
    except Rejected:
        raise Rejected(BINDING_MISMATCH) from None
    iat = _number(kb, "iat")
    t = now.timestamp()
    if iat is None or not t - max_age.total_seconds() <= iat <= t + LEEWAY.total_seconds():
        raise Rejected(BINDING_MISMATCH)
    if kb.get("nonce") != binding.nonce:
        raise Rejected(BINDING_MISMATCH)
    aud = kb.get("aud")
    if not isinstance(aud, str) or aud not in binding.audiences():
        # Made for this check (the nonce matched) but for an audience spelling that is off here.
        known = isinstance(aud, str) and aud in binding.unsupported_audiences()
        raise Rejected(UNSUPPORTED_HANDOVER if known else BINDING_MISMATCH)
    if kb.get("sd_hash") != _digest(presented):
        raise Rejected(TAMPERED)
