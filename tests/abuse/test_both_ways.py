"""Bands that hold both ways, through the API: what each edge of a band rests on, the ratchet,
the adult who claims a minor band, corroboration, and sanctions that bind a device.

The scenarios in policies/tests/both_ways_test.yaml run the same flows per pack; these tests
look at what the data format cannot: tokens, webhooks, audit events, the store.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from estimation_vendor import face_b64, shared_vendor
from factories import AUTH, Running, make_settings, running, write_policy
from webhook_setup import webhook_env

from service.core.ids import derive_sid

pytestmark = pytest.mark.anyio

TYPED = {"method": "self_declaration"}
GUARDIAN = {"method": "os_signal", "source": "apple", "declaration": "guardian_declared"}
PLAY_VERIFIED_ADULT = {
    "method": "os_signal",
    "source": "google_play",
    "user_status": "VERIFIED",
    "age_lower": 18,
}
TYPED_CLASS = "    class: self_declaration"
SOCIAL = ["profile.view", "search.include", "suggest.friend", "contact.request", "message.send"]


async def _introspect(run: Running, token: str) -> dict[str, Any]:
    r = await run.http.post("/v1/tokens/introspect", json={"token": token}, headers=AUTH)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _decide(run: Running, action: str, actor: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    body = {"jurisdiction": "default", "action": action, "actor": actor, "target": target}
    r = await run.http.post("/v1/decisions", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def _check(
    run: Running, subject: str, *evidence: dict[str, Any], purpose: str = "signup", device: str | None = None
) -> dict[str, Any]:
    headers = {**AUTH, "Ageband-Device": device} if device else AUTH
    r = await run.http.post(
        "/v1/checks",
        json={"subject": subject, "jurisdiction": "default", "purpose": purpose},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    check_id = r.json()["check_id"]
    body: dict[str, Any] = {}
    for item in evidence:
        resp = await run.evidence(check_id, item, headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
    return body


async def _events(run: Running, event_type: str) -> list[dict[str, Any]]:
    store = run.services.store
    await store.ensure_group("both-ways")
    got = [json.loads(d.event.body) for d in await store.read_events("both-ways", "t", 200, 0)]
    run.__dict__.setdefault("seen", []).extend(got)
    return [e for e in run.__dict__["seen"] if e["type"] == event_type]


def _audit(run: Running, event: str) -> list[dict[str, Any]]:
    return [e for e in run.log_lines() if e.get("event") == event]


async def test_tokens_and_introspection_say_how_well_each_edge_is_established() -> None:
    async with running() as run:
        guarded = await _check(run, "guarded", {**GUARDIAN, "lower_bound": 13, "upper_bound": 15})
        typed = await _check(run, "typed", {**TYPED, "birth_year": 2011})
        adult = await _check(run, "adult", {**TYPED, "birth_year": 1990})
        expected = {
            "guarded": ("13_15", "effective", "effective"),
            "typed": ("13_15", "basic", None),  # self-declaration never bounds the age from above
            "adult": ("18_plus", "basic", None),  # the top band has no upper edge
        }
        for name, body in (("guarded", guarded), ("typed", typed), ("adult", adult)):
            token = body["token"]
            assert (token["band"], token["level"], token["upper_level"]) == expected[name]
            claims = await _introspect(run, token["token"])
            assert (claims["age_band"], claims["level"], claims["upper_level"]) == expected[name]


async def test_decisions_take_the_upper_edge_as_a_band_and_level_too() -> None:
    async with running() as run:
        confirmed = {"band": "13_15", "level": "basic", "upper_level": "basic"}
        unconfirmed = {"band": "13_15", "level": "basic"}
        for action in SOCIAL:
            assert (await _decide(run, action, confirmed, confirmed))["allowed"] is True
            denied = await _decide(run, action, unconfirmed, confirmed)
            assert (denied["allowed"], denied["reason"]) == (False, "minor_band_unconfirmed")
            hidden = await _decide(run, action, confirmed, unconfirmed)
            assert (hidden["allowed"], hidden["reason"]) == (False, "minor_account_unconfirmed")
        # A token and a band together are one party too many.
        r = await run.http.post(
            "/v1/decisions",
            json={
                "jurisdiction": "default",
                "action": "profile.view",
                "actor": {"token": "x", "upper_level": "basic"},
            },
            headers=AUTH,
        )
        assert (r.status_code, r.json()["code"]) == (422, "validation_failed")


async def test_a_weaker_result_cannot_move_a_band_older_and_says_what_would(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, _, _), running(settings) as run:
        kid = await _check(run, "climber", {**GUARDIAN, "lower_bound": 13, "upper_bound": 15})
        sid = derive_sid(run.services.pepper, "demo", "climber")
        refused = await _check(run, "climber", {**TYPED, "birth_year": 1990}, purpose="recheck")
        assert (refused["outcome"], refused["reason"]) == ("inconclusive", "band_upgrade_needs_level")
        assert refused["token"] is None
        assert refused["min_level"] == "effective"  # the upgrade level, and what set the band
        assert [m["name"] for m in refused["methods"]] == ["os_signal"]  # never self_declaration
        assert "more certainty" in refused["consequence"]
        (event,) = _audit(run, "band.upgrade_refused")
        assert (event["band_from"], event["band_to"], event["min_level"]) == ("13_15", "18_plus", "effective")
        record = await run.services.store.get_record(sid)
        assert record is not None and (record.band, record.upper_level) == ("13_15", "effective")
        refresh = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)
        assert (refresh.json()["band"], refresh.json()["upper_level"]) == ("13_15", "effective")
        assert await _introspect(run, kid["token"]["token"]) != {"active": False}


async def test_evidence_at_the_upgrade_level_moves_a_band_older() -> None:
    async with running() as run:
        await _check(run, "grown", {**GUARDIAN, "lower_bound": 16, "upper_bound": 17})
        # Google Play's verified status is an adult whose age the store checked: effective.
        passed = await _check(run, "grown", PLAY_VERIFIED_ADULT, purpose="recheck")
        assert (passed["outcome"], passed["token"]["band"], passed["token"]["level"]) == (
            "passed", "18_plus", "effective",
        )  # fmt: skip
        assert passed["sanction"] is None


async def test_self_declaration_never_moves_a_band_older_whatever_its_level(tmp_path: Path) -> None:
    """Even a policy that rates self-declaration effective and sets the upgrade level to basic."""
    policy = write_policy(
        tmp_path,
        replace={
            f"{TYPED_CLASS}\n    level: basic": f"{TYPED_CLASS}\n    level: effective",
            "upgrade_level: effective": "upgrade_level: basic",
        },
    )
    async with running(make_settings(policy_path=policy)) as run:
        await _check(run, "typist", {**TYPED, "birth_year": 2011})
        refused = await _check(run, "typist", {**TYPED, "birth_year": 1990}, purpose="recheck")
        assert refused["reason"] == "band_upgrade_needs_level"


async def test_an_assured_adult_who_claims_a_minor_band_is_protected_flagged_and_sanctioned(
    tmp_path: Path,
) -> None:
    async with webhook_env(tmp_path) as (settings, _, _), running(settings) as run:
        adult = await _check(run, "poser", {**TYPED, "birth_year": 1990})
        sid = derive_sid(run.services.pepper, "demo", "poser")
        run.clock.advance(timedelta(days=3))
        child = await _check(run, "poser", {**TYPED, "birth_year": 2011}, purpose="recheck")
        assert (child["outcome"], child["token"]["band"], child["token"]["upper_level"]) == (
            "passed",
            "13_15",
            None,
        )
        assert child["sanction"] == "adult_claims_minor"
        assert "counts as a child's" in child["consequence"]
        # Protected as a minor at once: the adult token is void, the new one says 13_15.
        assert (await _introspect(run, adult["token"]["token"]))["active"] is False
        assert (await _introspect(run, child["token"]["token"]))["age_band"] == "13_15"
        (flagged,) = await _events(run, "subject.flagged")
        assert flagged["data"]["sid"] == sid and flagged["data"]["reason"] == "adult_claims_minor"
        sanction = flagged["data"]["sanction"]
        assert sanction["tokens_revoked"] is True and sanction["min_level"] == "effective"
        assert sanction["locked_until"] is not None
        (imposed,) = _audit(run, "sanction.imposed")
        assert imposed["signal"] == "adult_claims_minor"
        # Locked for a day: no new check (to climb back, or to confirm the band) before then.
        r = await run.http.post(
            "/v1/checks", json={"subject": "poser", "jurisdiction": "default"}, headers=AUTH
        )
        assert (r.status_code, r.json()["code"], r.json()["reason"]) == (
            429,
            "subject_locked",
            "adult_claims_minor",
        )
        assert "counts as a child's" in r.json()["consequence"]


async def test_an_adults_claim_to_a_minor_band_is_confirmed_only_by_evidence_as_strong(
    tmp_path: Path,
) -> None:
    """The sanction's minimum level is the floor: a guardian-declared range (effective) does not
    confirm a minor band for a subject whose policy asks highly_effective of such a claim."""
    policy = write_policy(
        tmp_path,
        replace={"        adult_claims_minor:\n          lock: P1D\n          min_level: effective":
                 "        adult_claims_minor:\n          min_level: highly_effective"},
    )  # fmt: skip
    async with running(make_settings(policy_path=policy)) as run:
        await _check(run, "was-adult", {**TYPED, "birth_year": 1990})
        child = await _check(
            run, "was-adult", {**GUARDIAN, "lower_bound": 13, "upper_bound": 15}, purpose="recheck"
        )
        assert (child["token"]["band"], child["token"]["upper_level"]) == ("13_15", None)
        assert child["sanction"] == "adult_claims_minor"
        # Without the adult record, the same signal confirms the band.
        fresh = await _check(run, "never-adult", {**GUARDIAN, "lower_bound": 13, "upper_bound": 15})
        assert fresh["token"]["upper_level"] == "effective"


async def test_a_new_account_on_a_locked_device_is_locked_too(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, _, _), running(settings) as run:
        await _check(run, "first", {**TYPED, "birth_year": 1990}, device="tablet-7")
        await _check(run, "first", {**TYPED, "birth_year": 2011}, purpose="recheck", device="tablet-7")
        headers = {**AUTH, "Ageband-Device": "tablet-7"}
        r = await run.http.post(
            "/v1/checks", json={"subject": "second", "jurisdiction": "default"}, headers=headers
        )
        assert (r.status_code, r.json()["code"]) == (429, "subject_locked")
        assert (r.json()["scope"], r.json()["reason"]) == ("device", "adult_claims_minor")
        # Another device is not bound by it; nothing in the store names the device in clear.
        other = {**AUTH, "Ageband-Device": "phone-2"}
        r = await run.http.post(
            "/v1/checks", json={"subject": "second", "jurisdiction": "default"}, headers=other
        )
        assert r.status_code == 201, r.text
        store = run.services.store
        keys = [k async for k in store._r.scan_iter(match=f"{store._keys.prefix}:*")]  # type: ignore[attr-defined]
        assert keys and not [k for k in keys if b"tablet-7" in k]


async def test_many_subjects_checked_on_one_device_raise_shared_device(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, _, _), running(settings) as run:
        for n in range(5):  # the bundled packs allow five a day
            body = await _check(run, f"sibling-{n}", {**TYPED, "birth_year": 2010}, device="family-tablet")
            assert body["sanction"] is None
        sixth = await _check(run, "sibling-5", {**TYPED, "birth_year": 2010}, device="family-tablet")
        assert sixth["sanction"] == "shared_device"
        assert "Many accounts were checked on this device" in sixth["consequence"]
        (flagged,) = await _events(run, "subject.flagged")
        assert flagged["data"]["reason"] == "shared_device"
        # The same subject again is not a new one; a sixth subject's next check must go stronger.
        again = await _check(
            run, "sibling-0", {**TYPED, "birth_year": 2010}, purpose="recheck", device="family-tablet"
        )
        assert again["sanction"] is None
        r = await run.http.post(
            "/v1/checks",
            json={"subject": "sibling-6", "jurisdiction": "default"},
            headers={**AUTH, "Ageband-Device": "family-tablet"},
        )
        assert [m["name"] for m in r.json()["methods"]] == ["os_signal"]  # min_level effective


def _estimation_settings(tmp_path: Path) -> Any:
    vendor = shared_vendor()
    return make_settings(
        providers={
            "enabled": ["os_signal", "self_declaration", "facial_estimation"],
            "instances": {"facial_estimation": {"type": "http_estimation", "config": vendor.config()}},
        }
    )


async def test_a_confirming_check_corroborates_a_self_declared_band_with_an_estimate(tmp_path: Path) -> None:
    async with running(_estimation_settings(tmp_path)) as run:
        await _check(run, "teen", {**TYPED, "birth_year": 2011})
        started = await run.start_check("teen", purpose="confirm")
        # Only the methods that can bound the age from above are offered.
        assert [m["name"] for m in started["methods"]] == ["os_signal", "facial_estimation"]
        r = await run.evidence(started["check_id"], {**TYPED, "birth_year": 2011})
        assert (r.status_code, r.json()["code"]) == (409, "method_not_allowed")
        # 14.2 ± 5 alone would straddle four bands; with the band on record it confirms 13_15.
        r = await run.evidence(
            started["check_id"], {"method": "facial_estimation", "image": face_b64(14.2, 1)}
        )
        body = r.json()
        assert (body["outcome"], body["token"]["band"], body["token"]["upper_level"]) == (
            "passed",
            "13_15",
            "basic",
        )
        assert body["sanction"] is None
        friend = await _check(run, "friend", {**GUARDIAN, "lower_bound": 13, "upper_bound": 15})
        decision = await _decide(
            run, "message.send", {"token": body["token"]["token"]}, {"token": friend["token"]["token"]}
        )
        assert decision["allowed"] is True


async def test_an_estimate_above_the_band_confirms_nothing_and_a_grown_adult_is_caught(
    tmp_path: Path,
) -> None:
    async with running(_estimation_settings(tmp_path)) as run:
        await _check(run, "older", {**TYPED, "birth_year": 2011})
        # 17.5: consistent with 13_15 once buffered ([12, 22]), but the point estimate is above 15.
        started = await run.start_check("older", purpose="confirm")
        r = await run.evidence(
            started["check_id"], {"method": "facial_estimation", "image": face_b64(17.5, 1)}
        )
        assert (r.json()["token"]["band"], r.json()["token"]["upper_level"]) == ("13_15", None)
        await _check(run, "grown", {**TYPED, "birth_year": 2011})
        started = await run.start_check("grown", purpose="confirm")
        r = await run.evidence(started["check_id"], {"method": "facial_estimation", "image": face_b64(35, 2)})
        body = r.json()
        assert (body["outcome"], body["reason"], body["sanction"]) == (
            "failed", "inconsistent_signals", "inconsistent_signals",
        )  # fmt: skip
