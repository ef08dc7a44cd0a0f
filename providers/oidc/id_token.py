"""ID token validation (OpenID Connect Core §3.1.3.7), with nothing left to the token's header.

Pinned algorithms; ``iss`` equal to the configured issuer; our client id in ``aud`` (and, with
several audiences or an ``azp``, ``azp`` equal to it); ``exp`` in the future and ``iat`` neither
in the future nor too old; the ``nonce`` this flow sent. A ``kid`` missing from the provider's
JWKS, even after the refetch the cooldown allows, is ``signing_key_unknown``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeGuard

from joserfc import jws
from joserfc.errors import JoseError

from providers.oidc.config import OidcConfig
from providers.oidc.errors import (
    AUDIENCE_MISMATCH,
    ID_TOKEN_EXPIRED,
    ID_TOKEN_INVALID,
    ISSUER_MISMATCH,
    NONCE_MISMATCH,
    SIGNING_KEY_UNKNOWN,
    Rejected,
)
from providers.oidc.upstream import Upstream, has_kid
from service.core import base64url

MAX_ID_TOKEN = 16 * 1024
_FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "crit"})


async def validate(
    token: str, cfg: OidcConfig, upstream: Upstream, nonce: str, now: datetime
) -> dict[str, Any]:
    if len(token) > MAX_ID_TOKEN or not base64url.is_canonical_compact(token):
        raise Rejected(ID_TOKEN_INVALID)
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeEncodeError):
        raise Rejected(ID_TOKEN_INVALID) from None
    if header.get("alg") not in cfg.algorithms or _FORBIDDEN_HEADERS & set(header):
        raise Rejected(ID_TOKEN_INVALID)
    kid = header.get("kid")
    keys = await upstream.keys(kid if isinstance(kid, str) else None, now.timestamp())
    if isinstance(kid, str) and not has_kid(keys, kid):
        raise Rejected(SIGNING_KEY_UNKNOWN)
    try:
        signed = jws.deserialize_compact(token, keys, algorithms=cfg.algorithms)
        claims = json.loads(signed.payload)
    except (JoseError, ValueError):
        raise Rejected(ID_TOKEN_INVALID) from None
    if not isinstance(claims, dict):
        raise Rejected(ID_TOKEN_INVALID)
    _check_claims(claims, cfg, nonce, now)
    return claims


def _check_claims(claims: Mapping[str, Any], cfg: OidcConfig, nonce: str, now: datetime) -> None:
    if claims.get("iss") != cfg.issuer:
        raise Rejected(ISSUER_MISMATCH)
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or cfg.client_id not in audiences:
        raise Rejected(AUDIENCE_MISMATCH)
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != cfg.client_id:
        raise Rejected(AUDIENCE_MISMATCH)
    t, leeway = now.timestamp(), cfg.leeway_seconds
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _is_number(exp) or not _is_number(iat):
        raise Rejected(ID_TOKEN_INVALID)
    if exp <= t - leeway or iat > t + leeway or iat < t - cfg.max_id_token_age_seconds:
        raise Rejected(ID_TOKEN_EXPIRED)
    if claims.get("nonce") != nonce:
        raise Rejected(NONCE_MISMATCH)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
