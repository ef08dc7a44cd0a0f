"""OpenID AuthZEN Authorization API 1.0: metadata, evaluation, evaluations (defaults, semantics,
per-evaluation errors), resource search, and problems for what cannot be decided."""

from __future__ import annotations

from typing import Any

import pytest
from factories import AUTH, make_settings, running

pytestmark = pytest.mark.anyio
ADULT = {"band": "18_plus", "level": "effective"}
CHILD = {"band": "13_15"}


def ev(
    actor: dict[str, Any] | None = None, target: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": {"type": "user", "id": "u1", "properties": actor or ADULT},
        "action": {"name": "profile.view"},
        "resource": {"type": "account", "id": "a1", "properties": target or ADULT},
    }
    return body | extra


async def test_configuration_publishes_absolute_endpoints_under_the_public_url() -> None:
    async with running(make_settings(http={"public_url": "https://age.example"})) as r:
        conf = (await r.http.get("/.well-known/authzen-configuration")).json()
        assert conf == {
            "policy_decision_point": "https://age.example",
            "access_evaluation_endpoint": "https://age.example/access/v1/evaluation",
            "access_evaluations_endpoint": "https://age.example/access/v1/evaluations",
            "search_resource_endpoint": "https://age.example/access/v1/search/resource",
        }
    async with running() as r:  # unset: the URL the request came to
        conf = (await r.http.get("/.well-known/authzen-configuration")).json()
        assert conf["access_evaluation_endpoint"] == "http://ageband.test/access/v1/evaluation"


async def test_an_evaluation_answers_as_v1_decisions_with_the_reasons_in_its_context() -> None:
    async with running() as r:
        _, token = await r.adult_token("az-1", 1990)
        for actor, target in ((ADULT, CHILD), ({"token": token}, ADULT), (CHILD, ADULT)):
            for ctx in ({"jurisdiction": "GB", "country": "DE"}, None):
                body = ev(actor, target, context=ctx) if ctx else ev(actor, target)
                resp = await r.http.post(
                    "/access/v1/evaluation", json=body, headers={**AUTH, "X-Request-ID": "r-1"}
                )
                assert resp.status_code == 200 and resp.headers["x-request-id"] == "r-1", resp.text
                got = resp.json()
                where = {"jurisdiction": "GB", "country": "DE"} if ctx else {"jurisdiction": "default"}
                decision = {"action": "profile.view", "actor": actor, "target": target, **where}
                want = (await r.http.post("/v1/decisions", json=decision, headers=AUTH)).json()
                assert got["decision"] == want["allowed"]
                keep = ("rule", "reason", "message", "obligations", "safety_resources", "policy_version")
                # deterrence: absent from /v1/decisions when none, null in the AuthZEN context
                assert got["context"] == {**{k: want[k] for k in keep}, "deterrence": want.get("deterrence")}


async def test_evaluations_take_defaults_stop_as_asked_and_report_bad_ones_in_place() -> None:
    async with running() as r:
        base = ev()
        items = [
            {"resource": {"type": "account", "id": "a", "properties": ADULT}},
            {"resource": {"type": "account", "id": "b", "properties": CHILD}},
            {"action": {"name": "no.such.action"}},
            {"resource": {"type": "account", "id": "c", "properties": ADULT}},
        ]
        body = {**base, "evaluations": items}
        out = (await r.http.post("/access/v1/evaluations", json=body, headers=AUTH)).json()["evaluations"]
        assert [e["decision"] for e in out] == [True, False, False, True]
        assert out[2]["context"]["error"]["code"] == "unknown_action"
        assert out[2]["context"]["error"]["status"] == 400
        for semantic, count in (("deny_on_first_deny", 2), ("permit_on_first_permit", 1), ("execute_all", 4)):
            body["options"] = {"evaluations_semantic": semantic}
            out = (await r.http.post("/access/v1/evaluations", json=body, headers=AUTH)).json()["evaluations"]
            assert len(out) == count, semantic
        # Without evaluations: one evaluation, answered as /access/v1/evaluation answers.
        single = (await r.http.post("/access/v1/evaluations", json=base, headers=AUTH)).json()
        assert single == (await r.http.post("/access/v1/evaluation", json=base, headers=AUTH)).json()
        # An evaluation with no subject, here or as a default, is a problem of the request.
        lone = {"evaluations": [{"action": {"name": "profile.view"}}]}
        resp = await r.http.post("/access/v1/evaluations", json=lone, headers=AUTH)
        assert resp.status_code == 200
        assert resp.json()["evaluations"][0]["context"]["error"]["code"] == "validation_failed"


async def test_resource_search_names_the_accounts_the_subject_may_act_on() -> None:
    async with running() as r:
        candidates = [{"id": "a", **ADULT}, {"id": "b", **CHILD}, {"id": "c", "band": "18_plus"}]
        body = {**ev(), "resource": {"type": "account", "properties": {"candidates": candidates}}}
        resp = await r.http.post("/access/v1/search/resource", json=body, headers=AUTH)
        batch = {"action": "profile.view", "jurisdiction": "default", "actor": ADULT, "targets": candidates}
        allowed = (await r.http.post("/v1/decisions/batch", json=batch, headers=AUTH)).json()["allowed"]
        assert resp.json() == {
            "results": [{"type": "account", "id": i} for i in allowed],
            "page": {"next_token": ""},
        }
        assert allowed == ["a", "c"]


async def test_what_cannot_be_decided_is_a_problem_document() -> None:
    async with running() as r:
        cases = [
            (ev(context={"jurisdiction": "ZZ"}), 400, "unknown_jurisdiction"),
            (ev(action={"name": "no.such"}), 400, "unknown_action"),
            (ev({"band": "21_plus"}), 400, "unknown_band_or_level"),
            (ev({"token": "eyJ.not.a-token"}), 400, "invalid_party_token"),
            (ev({"token": "x", "band": "18_plus"}), 422, "validation_failed"),
            ({"subject": {"type": "user", "id": "u"}}, 422, "validation_failed"),
            (ev(extra_member=1), 422, "validation_failed"),
        ]
        for body, status, code in cases:
            resp = await r.http.post("/access/v1/evaluation", json=body, headers=AUTH)
            assert resp.headers["content-type"].startswith("application/problem+json"), body
            assert (resp.status_code, resp.json()["code"]) == (status, code), body
        assert (await r.http.post("/access/v1/evaluation", json=ev())).status_code == 401
