"""GET /v1/policy/bundle: signed tables, and a local evaluator that reproduces every server decision."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from bundle_evaluator import BUNDLE_TYPE, BundleEvaluator
from factories import AUTH, Running, running

from service.flows.bundle import BUNDLE_LIFETIME
from service.tokens.errors import InvalidToken

pytestmark = pytest.mark.anyio
ISSUER = "urn:ageband:dev"  # the default settings' token issuer


def _payload(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return payload


async def _fetch(r: Running) -> tuple[str, dict[str, Any], float]:
    token = (await r.http.get("/v1/policy/bundle", headers=AUTH)).text
    jwks = (await r.http.get("/.well-known/jwks.json")).json()
    return token, jwks, r.clock.now().timestamp()


async def test_bundle_is_a_signed_jws_over_the_tables_with_etag() -> None:
    async with running() as r:
        resp = await r.http.get("/v1/policy/bundle", headers=AUTH)
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "application/jwt"
        header = json.loads(base64.urlsafe_b64decode(resp.text.split(".")[0] + "=="))
        assert header == {"alg": "EdDSA", "typ": BUNDLE_TYPE, "kid": r.services.keyring.signing_key.kid}
        again = await r.http.get("/v1/policy/bundle", headers={**AUTH, "If-None-Match": resp.headers["etag"]})
        assert again.status_code == 304
        assert (await r.http.get("/v1/policy/bundle")).status_code == 401


async def test_tampered_bundle_is_refused() -> None:
    async with running() as r:
        token = (await r.http.get("/v1/policy/bundle", headers=AUTH)).text
        jwks = (await r.http.get("/.well-known/jwks.json")).json()
        head, body, sig = token.split(".")
        payload = json.loads(base64.urlsafe_b64decode(body + "=="))
        payload["outcomes"][0]["allowed"] = not payload["outcomes"][0]["allowed"]
        compact = json.dumps(payload, separators=(",", ":"))  # the same size: only the signature fails
        forged = base64.urlsafe_b64encode(compact.encode()).rstrip(b"=").decode()
        with pytest.raises(Exception, match="signature"):
            BundleEvaluator.verify(f"{head}.{forged}.{sig}", jwks, issuer=ISSUER)


async def test_respelled_bundle_is_refused() -> None:
    # The bundle is signed in canonical base64url; a second spelling of it is not accepted.
    async with running() as r:
        token, jwks, now = await _fetch(r)
        assert BundleEvaluator.verify(token, jwks, issuer=ISSUER, now=now)
        head, body, sig = token.split(".")
        for respelled in (f"{head}=.{body}.{sig}", f"{head}.{body}.{sig}==", f"{head}.{body}.+{sig[1:]}"):
            with pytest.raises(ValueError, match="canonical"):
                BundleEvaluator.verify(respelled, jwks, issuer=ISSUER, now=now)


async def test_bundle_carries_issuer_and_a_short_validity() -> None:
    async with running() as r:
        token, jwks, now = await _fetch(r)
        payload = _payload(token)
        assert payload["iss"] == r.services.tokens.issuing.signer.issuer == ISSUER
        assert payload["iat"] == int(now)
        assert payload["exp"] == int(now) + BUNDLE_LIFETIME
        assert BundleEvaluator.verify(token, jwks, issuer=ISSUER, now=now).version == payload["pol"]
        with pytest.raises(ValueError, match="another issuer"):
            BundleEvaluator.verify(token, jwks, issuer="https://someone-else.example", now=now)
        with pytest.raises(ValueError, match="expired"):
            BundleEvaluator.verify(token, jwks, issuer=ISSUER, now=now + BUNDLE_LIFETIME + 31)
        with pytest.raises(ValueError, match="future"):
            BundleEvaluator.verify(token, jwks, issuer=ISSUER, now=now - 31)


async def test_bundle_and_token_types_are_never_confused() -> None:
    async with running() as r:
        token, jwks, now = await _fetch(r)
        _, age_token = await r.adult_token("bundle-1", 1990)
        # An age-band token is signed by the same keys, but is no bundle ...
        with pytest.raises(ValueError, match="not a policy bundle"):
            BundleEvaluator.verify(age_token, jwks, issuer=ISSUER, now=now)
        # ... and the service's token verifier refuses a bundle presented as a token (by its size
        # first; its typ would be refused next).
        with pytest.raises(InvalidToken):
            r.services.tokens.verifier.verify(token, audience="demo")


async def test_bundle_is_re_signed_before_half_its_lifetime_is_gone() -> None:
    async with running() as r:
        first = await r.http.get("/v1/policy/bundle", headers=AUTH)
        etag = first.headers["etag"]
        r.clock.advance(timedelta(seconds=BUNDLE_LIFETIME // 2 - 1))
        same = await r.http.get("/v1/policy/bundle", headers={**AUTH, "If-None-Match": etag})
        assert same.status_code == 304
        r.clock.advance(timedelta(seconds=1))
        fresh = await r.http.get("/v1/policy/bundle", headers={**AUTH, "If-None-Match": etag})
        assert fresh.status_code == 200 and fresh.headers["etag"] != etag
        assert _payload(fresh.text)["exp"] - r.clock.now().timestamp() == BUNDLE_LIFETIME


async def test_local_evaluator_reproduces_every_server_decision() -> None:
    async with running() as r:
        policy = r.services.policy.current
        token = (await r.http.get("/v1/policy/bundle", headers=AUTH)).text
        jwks = (await r.http.get("/.well-known/jwks.json")).json()
        local = BundleEvaluator.verify(token, jwks, issuer=ISSUER, now=r.clock.now().timestamp())
        assert local.version == policy.version
        keys = list(policy.tables.party_keys)
        targets = [
            {"id": str(i), "band": b, "level": lv, "upper_level": up} for i, (b, lv, up) in enumerate(keys)
        ]
        checked = 0
        for code in policy.jurisdictions:
            for action in policy.actions:
                for actor in keys:
                    body = {
                        "jurisdiction": code, "action": action, "targets": targets, "reasons": True,
                        "actor": {"band": actor[0], "level": actor[1], "upper_level": actor[2]},
                    }  # fmt: skip
                    resp = await r.http.post(
                        "/v1/decisions/batch", json=body, headers={**AUTH, "Accept-Language": "de"}
                    )
                    assert resp.status_code == 200, resp.text
                    reasons = resp.json()["reasons"]
                    for i, target in enumerate(keys):
                        d = local.decide(code, action, actor, target, locale="de")
                        server = reasons[str(i)]
                        assert (d.allowed, d.rule, d.reason, d.message) == (
                            server["allowed"], server["rule"], server["reason"], server["message"],
                        ), (code, action, actor, target)  # fmt: skip
                        checked += 1
        assert checked == len(policy.jurisdictions) * len(policy.actions) * len(keys) ** 2
        # Obligations travel too: compare with single decisions where a rule sets one.
        d = (await r.http.post(
            "/v1/decisions",
            json={"jurisdiction": "default", "action": "message.send",
                  "actor": {"band": "13_15"}, "target": {"band": "18_plus"}},
            headers=AUTH,
        )).json()  # fmt: skip
        assert (
            local.decide(
                "default", "message.send", ("13_15", None, None), ("18_plus", None, None)
            ).obligations
            == d["obligations"]
        )
