"""The Python SDK verifies the service's tokens as the service does, and refuses what it refuses."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from ageband_client import InvalidToken, KeySet, verify_token
from factories import running
from tokens_forge import Forger, b64, b64json, raw_signer, valid_claims

from service.tokens.keys import generate_key

pytestmark = pytest.mark.anyio
ISSUER = "urn:ageband:dev"


async def _token_and_keys() -> tuple[str, dict[str, Any], float, Forger]:
    async with running() as r:
        _, token = await r.adult_token("sdk-1", 1990)
        jwks = (await r.http.get("/.well-known/jwks.json")).json()
        return token, jwks, r.clock.now().timestamp(), Forger(r.services.keyring.signing_key)


async def test_a_service_token_verifies_with_its_claims() -> None:
    token, jwks, now, _ = await _token_and_keys()
    claims = verify_token(token, KeySet(jwks), issuer=ISSUER, audience="demo", now=now)
    assert (claims.age_band, claims.aud, claims.iss) == ("18_plus", "demo", ISSUER)
    assert claims.party == ("18_plus", claims.level, claims.upper_level)


async def test_audience_issuer_and_time_are_pinned() -> None:
    token, jwks, now, _ = await _token_and_keys()
    keys = KeySet(jwks)
    for kwargs, reason in (
        ({"audience": "other-app"}, "wrong audience"),
        ({"issuer": "https://elsewhere.example"}, "wrong issuer"),
        ({"now": now + 3600}, "expired"),
        ({"now": now - 3600}, "issued in the future"),
    ):
        args: dict[str, Any] = {"issuer": ISSUER, "audience": "demo", "now": now, **kwargs}
        with pytest.raises(InvalidToken, match=reason):
            verify_token(token, keys, **args)


async def test_forged_headers_and_algorithms_are_refused() -> None:
    token, jwks, now, forger = await _token_and_keys()
    keys = KeySet(jwks)
    claims = {**valid_claims(), "iss": ISSUER, "aud": "demo", "iat": int(now), "exp": int(now) + 300}
    cases = {
        "algorithm not allowed": forger.token(forger.header(alg="none"), claims, sign=lambda _: b""),
        "unexpected header": forger.token(forger.header(jku="https://evil.example/jwks"), claims),
        "wrong typ": forger.token(forger.header(typ="JWT"), claims),
        "unknown kid": forger.token(forger.header(kid="k" * 43), claims),
        "algorithm does not match key": forger.token(forger.header(alg="ES256"), claims),
        "bad signature": forger.token(claims=claims, sign=raw_signer(generate_key("EdDSA"))),
        "unexpected claims": forger.token(claims={**claims, "email": "x@example.com"}),
        "non-canonical encoding": token + "=",
        "token too large": "a" * 9000,
    }
    hmac_token = f"{b64json(forger.header(alg='HS256'))}.{b64json(claims)}"
    mac = hmac.new(b"public-key-bytes", hmac_token.encode(), hashlib.sha256).digest()
    cases["algorithm not allowed "] = f"{hmac_token}.{b64(mac)}"
    for reason, forged in cases.items():
        with pytest.raises(InvalidToken, match=reason.strip()):
            verify_token(forged, keys, issuer=ISSUER, audience="demo", now=now)
    with pytest.raises(InvalidToken) as err:
        verify_token(cases["unknown kid"], keys, issuer=ISSUER, audience="demo", now=now)
    assert err.value.unknown_kid
