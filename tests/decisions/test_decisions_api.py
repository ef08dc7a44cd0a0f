"""POST /v1/decisions and /v1/decisions/batch against the bundled policy, through the real app."""

from __future__ import annotations

import json
from typing import Any

import pytest
from factories import AUTH, running

pytestmark = pytest.mark.anyio

ADULT = {"band": "18_plus", "level": "basic"}
TEEN = {"band": "13_15", "level": "basic"}


async def _decide(r: Any, **body: Any) -> dict[str, Any]:
    resp = await r.http.post("/v1/decisions", json={"jurisdiction": "default", **body}, headers=AUTH)
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


async def test_adult_cannot_view_a_minors_profile() -> None:
    async with running() as r:
        d = await _decide(r, action="profile.view", actor=ADULT, target=TEEN)
        assert d["allowed"] is False
        assert d["effect"] == "deny"
        assert d["rule"] == "adults-cannot-reach-minors"
        assert d["reason"] == "minor_account_protected"
        assert d["message"] == "This account is not available."
        assert d["policy_version"] == r.services.policy.current.version
        assert "trace" not in d


async def test_adult_can_view_an_adult_and_message_is_localized() -> None:
    async with running() as r:
        resp = await r.http.post(
            "/v1/decisions",
            json={"jurisdiction": "default", "action": "profile.view", "actor": ADULT, "target": ADULT},
            headers={**AUTH, "Accept-Language": "de-AT,de;q=0.9"},
        )
        d = resp.json()
        assert d["allowed"] is True
        assert d["rule"] == "social-baseline"
        assert d["message"] == "Erlaubt."


async def test_unknown_target_counts_as_a_minor_and_unknown_actor_cannot_reach_minors() -> None:
    async with running() as r:
        d = await _decide(r, action="message.send", actor=ADULT, target={})
        assert (d["allowed"], d["reason"]) == (False, "minor_account_protected")
        d = await _decide(r, action="profile.view", actor={}, target=TEEN)
        assert (d["allowed"], d["reason"]) == (False, "minor_account_protected")


async def test_obligation_brings_safety_resources() -> None:
    async with running() as r:
        d = await _decide(r, action="message.send", actor=TEEN, target=ADULT)
        assert d["allowed"] is True
        assert d["obligations"] == ["show_safety_resources"]
        assert d["safety_resources"][0]["name"] == "Child Helpline International"


async def test_explain_adds_the_trace_of_every_rule() -> None:
    async with running() as r:
        d = await _decide(r, action="profile.view", actor=ADULT, target=TEEN, explain=True)
        rules = [s["rule"] for s in d["trace"]]
        assert rules == [x.name for x in r.services.policy.current.jurisdiction("default").rules]
        matched = {s["rule"] for s in d["trace"] if s["matched"]}
        assert matched == {"social-baseline", "adults-cannot-reach-minors"}


async def test_batch_returns_allowed_ids_and_reasons_and_one_audit_event() -> None:
    targets = [
        {"id": "a", "band": "18_plus"},
        {"id": "b", "band": "13_15", "level": "effective"},
        {"id": "c"},
        {"id": "d", "band": "18_plus", "level": "strict"},
    ]
    async with running() as r:
        body = {"jurisdiction": "default", "action": "search.include", "actor": ADULT, "targets": targets}
        resp = await r.http.post("/v1/decisions/batch", json=body, headers=AUTH)
        assert resp.status_code == 200, resp.text
        out = resp.json()
        assert out["allowed"] == ["a", "d"]
        assert out["denied"] == 2
        assert "reasons" not in out
        resp = await r.http.post("/v1/decisions/batch", json={**body, "reasons": True}, headers=AUTH)
        reasons = resp.json()["reasons"]
        assert reasons["c"]["reason"] == "minor_account_protected"
        assert reasons["a"]["rule"] == "social-baseline"
        events = [e for e in r.log_lines() if e.get("event") == "decision.made"]
        assert len(events) == 2
        assert events[0]["targets"] == 4
        assert events[0]["allowed"] == 2
        assert events[0]["pol"] == r.services.policy.current.version
        # One event per batch, with counts: no target ids.
        assert '"a"' not in json.dumps(events[0])


@pytest.mark.parametrize("reasons", [False, True])
async def test_batch_with_a_repeated_target_id_is_422_naming_both_places(reasons: bool) -> None:
    # An adult and a child under one id: no answer by id could say which of them it means.
    targets = [{"id": "u-1", **ADULT}, {"id": "U-1", **ADULT}, {"id": "u-2", **TEEN}, {"id": "u-1", **TEEN}]
    body = {"jurisdiction": "default", "action": "profile.view", "actor": ADULT, "reasons": reasons}
    async with running() as r:
        resp = await r.http.post("/v1/decisions/batch", json={**body, "targets": targets}, headers=AUTH)
        assert (resp.status_code, resp.headers["content-type"]) == (422, "application/problem+json")
        problem = resp.json()
        assert (problem["code"], problem["target"], problem["same_as"]) == ("duplicate_target_id", 3, 0)
        assert "u-1" not in resp.text
        assert not [e for e in r.log_lines() if e.get("event") == "decision.made"]  # nothing decided
        unique = targets[:3]  # ids differ in case only: distinct
        resp = await r.http.post("/v1/decisions/batch", json={**body, "targets": unique}, headers=AUTH)
        assert (resp.status_code, resp.json()["allowed"]) == (200, ["u-1", "U-1"])


async def test_batch_limit_and_unknown_names() -> None:
    async with running() as r:
        too_many = [{"id": str(i)} for i in range(10_001)]
        body = {"jurisdiction": "default", "action": "profile.view", "actor": ADULT, "targets": too_many}
        resp = await r.http.post("/v1/decisions/batch", json=body, headers=AUTH)
        assert resp.status_code == 422
        body["targets"] = [{"id": "x", "band": "secret-canary-band"}]
        resp = await r.http.post("/v1/decisions/batch", json=body, headers=AUTH)
        assert resp.status_code == 400
        assert resp.json()["code"] == "unknown_band_or_level"
        assert "secret-canary-band" not in resp.text
        resp = await r.http.post(
            "/v1/decisions",
            json={"jurisdiction": "default", "action": "no.such", "actor": ADULT, "target": ADULT},
            headers=AUTH,
        )
        assert resp.status_code == 400
        assert resp.json()["code"] == "unknown_action"
