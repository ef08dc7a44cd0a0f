"""One named test per attack on tokens, through POST /v1/tokens/introspect.

Each hostile token is forged by hand (tests/tokens/tokens_forge.py) and signed with the app's
own key, for a subject that really has a record, so that exactly one property is wrong: the
control test shows the same forge path giving an active token. The answer to every attack is
``{"active": false}`` and nothing else; the audit log's reason proves which check refused it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from factories import AUTH, Running, running
from tokens_forge import (
    NON_CANONICAL_FORMS,
    Forger,
    Signer,
    b64,
    b64json,
    hmac_signer,
    non_canonical,
    unb64,
    with_dropped_bits,
)

from service.tokens import CLAIM_NAMES, MAX_TOKEN_BYTES, generate_key

pytestmark = pytest.mark.anyio

INACTIVE = {"active": False}
LEEWAY = 30  # tokens.leeway_seconds default


@dataclass
class Target:
    run: Running
    sid: str
    forger: Forger

    @property
    def now(self) -> int:
        return int(self.run.clock.now().timestamp())

    def claims(self, **changes: Any) -> dict[str, Any]:
        """Claims exactly as the app issues them for this subject, with ``changes``."""
        claims: dict[str, Any] = {
            "iss": "urn:ageband:dev",
            "aud": "demo",
            "sub": self.sid,
            "iat": self.now,
            "exp": self.now + 300,
            "jti": b64(secrets.token_bytes(16)),
            "age_band": "18_plus",
            "level": "basic",
            "upper_level": None,
            "method": "self_declaration",
            "jur": "default",
            "pol": self.run.services.policy.current.version,
            "recheck_at": self.now + 90 * 86400,
        }
        claims.update(changes)
        return claims

    def forge(
        self,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        sign: Signer | None = None,
        forger: Forger | None = None,
    ) -> str:
        forger = forger or self.forger
        return forger.token(header or forger.header(), claims or self.claims(), sign=sign)

    async def introspect(self, token: str) -> dict[str, Any]:
        r = await self.run.http.post("/v1/tokens/introspect", data={"token": token}, headers=AUTH)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def refused(self, token: str, reason: str) -> None:
        """The token is inactive, the answer says nothing more, and ``reason`` refused it."""
        assert await self.introspect(token) == INACTIVE
        rejected = [e for e in self.run.log_lines() if e.get("event") == "token.rejected"]
        assert rejected, "no token.rejected audit event"
        assert rejected[-1]["reason"] == f"invalid token: {reason}"


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    async with running() as run:
        sid, _ = await run.adult_token()
        yield Target(run, sid, Forger(run.services.keyring.signing_key))


def without(claims: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != name}


# --- control ------------------------------------------------------------------------------------


async def test_control_token_from_the_forge_path_is_active(target: Target) -> None:
    body = await target.introspect(target.forge())
    assert body["active"] is True
    assert (body["sub"], body["aud"], body["age_band"]) == (target.sid, "demo", "18_plus")
    # ...and so is one at the edge of every window the attacks below step just past.
    edge = target.claims(iat=target.now - 600, exp=target.now - LEEWAY + 1, nbf=target.now + LEEWAY)
    assert (await target.introspect(target.forge(claims=edge)))["active"] is True


# --- algorithm ----------------------------------------------------------------------------------


async def test_alg_none_is_inactive(target: Target) -> None:
    token = target.forge(target.forger.header(alg="none"), sign=lambda _: b"")
    await target.refused(token, "algorithm not allowed")


async def test_hs256_signed_with_the_public_key_pem_is_inactive(target: Target) -> None:
    pem = target.forger.key.key.as_pem(private=False)
    token = target.forge(target.forger.header(alg="HS256"), sign=hmac_signer(pem))
    await target.refused(token, "algorithm not allowed")


async def test_hs256_signed_with_the_public_key_jwk_is_inactive(target: Target) -> None:
    served = (await target.run.http.get("/.well-known/jwks.json")).content  # the bytes we publish
    for secret in (served, json.dumps(json.loads(served)["keys"][0]).encode()):
        token = target.forge(target.forger.header(alg="HS256"), sign=hmac_signer(secret))
        await target.refused(token, "algorithm not allowed")


# --- header -------------------------------------------------------------------------------------


async def test_wrong_typ_is_inactive(target: Target) -> None:
    await target.refused(target.forge(target.forger.header(typ="JWT")), "wrong typ")


async def test_crit_header_is_inactive(target: Target) -> None:
    token = target.forge(target.forger.header(crit=["exp"]))
    await target.refused(token, "forbidden header crit")


async def test_jku_header_is_inactive(target: Target) -> None:
    token = target.forge(target.forger.header(jku="https://evil.example/jwks.json"))
    await target.refused(token, "forbidden header jku")


async def test_x5u_header_is_inactive(target: Target) -> None:
    token = target.forge(target.forger.header(x5u="https://evil.example/cert.pem"))
    await target.refused(token, "forbidden header x5u")


async def test_embedded_jwk_header_is_inactive(target: Target) -> None:
    attacker = Forger(generate_key(target.forger.key.alg))
    header = attacker.header(jwk=attacker.key.public_jwk())
    await target.refused(target.forge(header, forger=attacker), "forbidden header jwk")


async def test_unknown_kid_is_inactive(target: Target) -> None:
    attacker = Forger(generate_key(target.forger.key.alg))  # a well-formed kid, not ours
    await target.refused(target.forge(forger=attacker), "unknown kid")


async def test_kid_with_path_and_sql_characters_is_inactive(target: Target) -> None:
    kid = "../../keys/active.pem' OR '1'='1; DROP TABLE keys;--"
    await target.refused(target.forge(target.forger.header(kid=kid)), "malformed kid")


# --- claims -------------------------------------------------------------------------------------


async def test_wrong_iss_is_inactive(target: Target) -> None:
    token = target.forge(claims=target.claims(iss="https://evil.example"))
    await target.refused(token, "wrong issuer")


async def test_wrong_aud_is_inactive(target: Target) -> None:
    await target.refused(target.forge(claims=target.claims(aud="another-app")), "wrong audience")


async def test_audience_list_is_inactive(target: Target) -> None:
    token = target.forge(claims=target.claims(aud=["demo"]))
    await target.refused(token, "claim aud must be a non-empty string")


async def test_expired_token_is_inactive(target: Target) -> None:
    claims = target.claims(iat=target.now - 600, exp=target.now - LEEWAY)
    await target.refused(target.forge(claims=claims), "expired")


async def test_nbf_in_the_future_beyond_leeway_is_inactive(target: Target) -> None:
    token = target.forge(claims=target.claims(nbf=target.now + LEEWAY + 1))
    await target.refused(token, "not yet valid (nbf)")


@pytest.mark.parametrize("name", CLAIM_NAMES)
async def test_missing_required_claim_is_inactive(target: Target, name: str) -> None:
    assert len(CLAIM_NAMES) == 13
    token = target.forge(claims=without(target.claims(), name))
    await target.refused(token, f"missing claim {name}")


# --- signature and size -------------------------------------------------------------------------


async def test_tampered_payload_is_inactive(target: Target) -> None:
    check = await target.run.start_check("child-1")
    r = await target.run.evidence(check["check_id"], {"method": "self_declaration", "birth_year": 2012})
    token = r.json()["token"]["token"]
    assert (await target.introspect(token))["age_band"] == "13_15"
    header, payload, signature = token.split(".")
    claims = json.loads(unb64(payload))
    tampered = f"{header}.{b64json({**claims, 'age_band': '18_plus'})}.{signature}"
    await target.refused(tampered, "bad signature")


async def test_token_over_8kb_is_inactive_without_being_parsed(target: Target) -> None:
    # Correctly signed and otherwise valid: only its size is wrong.
    token = target.forge(claims=target.claims(pol="p" * 6000))
    assert MAX_TOKEN_BYTES < len(token) <= 9 * 1024
    for _ in range(3):
        assert await target.introspect(token) == INACTIVE
    reasons = {e["reason"] for e in target.run.log_lines() if e.get("event") == "token.rejected"}
    assert reasons == {"invalid token: token too large"}  # the first check, before any decoding


async def test_megabyte_introspection_body_is_413_before_parsing(target: Target) -> None:
    r = await target.run.http.post(
        "/v1/tokens/introspect", data={"token": "eyJ" + "A" * 1024 * 1024}, headers=AUTH
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "body_too_large"
    assert not [e for e in target.run.log_lines() if e.get("event") == "token.rejected"]


# --- non-canonical base64url --------------------------------------------------------------------
# One spelling per token: the same token respelled (padding, "+" or "/", a character of neither
# alphabet, non-zero dropped bits) is refused on every route that takes a token, even after the
# genuine spelling was verified and cached for decisions.

DECISION = {"jurisdiction": "default", "action": "profile.view"}


async def _decide(run: Running, parties: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    r = await run.http.post("/v1/decisions", json={**DECISION, **parties}, headers=AUTH)
    return r.status_code, r.json()


@pytest.mark.parametrize("form", NON_CANONICAL_FORMS)
async def test_non_canonical_token_is_refused_everywhere(target: Target, form: str) -> None:
    forger = target.forger
    genuine = forger.token(
        raw_header=with_dropped_bits(forger.header()), raw_payload=with_dropped_bits(target.claims())
    )
    assert (await target.introspect(genuine))["active"] is True
    assert (await _decide(target.run, {"actor": {"token": genuine}, "target": {"band": "18_plus"}}))[0] == 200
    assert (await _decide(target.run, {"actor": {"band": "18_plus"}, "target": {"token": genuine}}))[0] == 200
    respelled = non_canonical(genuine, form)
    reason = "invalid token: non-canonical encoding"

    await target.refused(respelled, "non-canonical encoding")  # introspection, form-encoded
    r = await target.run.http.post("/v1/tokens/introspect", json={"token": respelled}, headers=AUTH)
    assert (r.status_code, r.json()) == (200, INACTIVE)
    for parties in (
        {"actor": {"token": respelled}, "target": {"band": "18_plus"}},
        {"actor": {"band": "18_plus"}, "target": {"token": respelled}},
    ):
        status, body = await _decide(target.run, parties)
        assert (status, body["code"]) == (400, "invalid_party_token")
    batch = {
        **DECISION,
        "actor": {"band": "18_plus"},
        "targets": [{"id": "genuine", "token": genuine}, {"id": "respelled", "token": respelled}],
        "reasons": True,
    }
    r = await target.run.http.post("/v1/decisions/batch", json=batch, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["allowed"] == ["genuine"]
    assert r.json()["reasons"]["respelled"]["reason"] == "invalid_token"
    r = await target.run.http.post(
        "/v1/decisions/batch", json={**batch, "actor": {"token": respelled}}, headers=AUTH
    )
    assert (r.status_code, r.json()["code"]) == (400, "invalid_party_token")

    rejected = [e for e in target.run.log_lines() if e.get("event") == "token.rejected"]
    assert [e["reason"] for e in rejected] == [reason] * 6
    assert sorted(e.get("kind", "introspection") for e in rejected) == sorted(
        ["introspection", "introspection", "actor", "target", "target", "actor"]
    )
