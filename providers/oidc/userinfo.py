"""The UserInfo endpoint (OpenID Connect Core §5.3), for providers that keep claims out of the ID token.

A strictly conforming provider returns the claims of the ``profile`` scope (``birthdate``) from
UserInfo when an access token is issued (§5.4). They are read with the access token of the same
exchange, and the response's ``sub`` must equal the ID token's (§5.3.2: a mismatch means the
response is not for this login). A plain JSON answer is taken as it is (TLS to the configured
issuer's endpoint vouches for it); a signed one (``application/jwt``) is verified like an ID token
(pinned algorithms, the provider's JWKS, ``iss`` and ``aud``); an encrypted one is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from joserfc import jws
from joserfc.errors import JoseError

from providers.oidc.config import OidcConfig
from providers.oidc.errors import (
    USERINFO_INVALID,
    USERINFO_SUBJECT_MISMATCH,
    IdentityProviderUnavailable,
    Rejected,
)
from providers.oidc.upstream import MAX_DOCUMENT, Upstream, has_kid
from service.core import base64url

_FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "crit"})


async def fetch(
    endpoint: str, access_token: str, subject: str, cfg: OidcConfig, upstream: Upstream, now: datetime
) -> dict[str, Any]:
    """The UserInfo claims for the ID token's ``subject``; ``Rejected`` when they are not."""
    async with upstream.client() as http:
        r = await http.get(
            endpoint,
            headers={
                "authorization": f"Bearer {access_token}",
                "accept": "application/jwt, application/json",
            },
        )
    if r.status_code >= 500:
        raise IdentityProviderUnavailable("the identity provider's userinfo answered with an error")
    if r.status_code != 200 or len(r.content) > MAX_DOCUMENT:
        raise Rejected(USERINFO_INVALID)
    media = r.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/jwt":
        claims = await _signed(r.text.strip(), cfg, upstream, now)
    elif media == "application/json":
        claims = _json(r)
    else:
        raise Rejected(USERINFO_INVALID)
    if not isinstance(claims.get("sub"), str):
        raise Rejected(USERINFO_INVALID)  # §5.3.2: sub is always returned
    if claims["sub"] != subject:
        raise Rejected(USERINFO_SUBJECT_MISMATCH)
    return claims


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        claims = r.json()
    except ValueError:
        raise Rejected(USERINFO_INVALID) from None
    if not isinstance(claims, dict):
        raise Rejected(USERINFO_INVALID)
    return claims


async def _signed(token: str, cfg: OidcConfig, upstream: Upstream, now: datetime) -> dict[str, Any]:
    # A JWE has five segments: not canonical compact JWS, refused with everything else here.
    if len(token) > MAX_DOCUMENT or not base64url.is_canonical_compact(token):
        raise Rejected(USERINFO_INVALID)
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError):
        raise Rejected(USERINFO_INVALID) from None
    if header.get("alg") not in cfg.algorithms or _FORBIDDEN_HEADERS & set(header):
        raise Rejected(USERINFO_INVALID)
    kid = header.get("kid")
    keys = await upstream.keys(kid if isinstance(kid, str) else None, now.timestamp())
    if isinstance(kid, str) and not has_kid(keys, kid):
        raise Rejected(USERINFO_INVALID)
    try:
        claims = json.loads(jws.deserialize_compact(token, keys, algorithms=cfg.algorithms).payload)
    except (JoseError, ValueError):
        raise Rejected(USERINFO_INVALID) from None
    if not isinstance(claims, dict) or not _for_us(claims, cfg):
        raise Rejected(USERINFO_INVALID)
    return claims


def _for_us(claims: Mapping[str, Any], cfg: OidcConfig) -> bool:
    """§5.3.2: a signed response SHOULD carry ``iss`` and ``aud``; when present they must be ours."""
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if "iss" in claims and claims["iss"] != cfg.issuer:
        return False
    return aud is None or (isinstance(audiences, list) and cfg.client_id in audiences)
