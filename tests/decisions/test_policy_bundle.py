"""GET /v1/policy/bundle: signed tables, and a local evaluator that reproduces every server decision."""

from __future__ import annotations

import base64
import json

import pytest
from bundle_evaluator import BUNDLE_TYPE, BundleEvaluator
from factories import AUTH, running

pytestmark = pytest.mark.anyio


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
        forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
        with pytest.raises(Exception, match="signature"):
            BundleEvaluator.verify(f"{head}.{forged}.{sig}", jwks)


async def test_local_evaluator_reproduces_every_server_decision() -> None:
    async with running() as r:
        policy = r.services.policy.current
        token = (await r.http.get("/v1/policy/bundle", headers=AUTH)).text
        jwks = (await r.http.get("/.well-known/jwks.json")).json()
        local = BundleEvaluator.verify(token, jwks)
        assert local.version == policy.version
        keys = list(policy.tables.party_keys)
        targets = [{"id": str(i), "band": b, "level": lv} for i, (b, lv) in enumerate(keys)]
        checked = 0
        for code in policy.jurisdictions:
            for action in policy.actions:
                for actor in keys:
                    body = {
                        "jurisdiction": code, "action": action, "targets": targets, "reasons": True,
                        "actor": {"band": actor[0], "level": actor[1]},
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
            local.decide("default", "message.send", ("13_15", None), ("18_plus", None)).obligations
            == d["obligations"]
        )
