"""Abuse scenarios end to end, on a real Redis: each ends in the sanction the policy names.

Method shopping, rapid retries from one device or IP, repeated failures, a liveness failure (the
built-in http_estimation provider against a local vendor that reports a spoof), and a re-check
that finds a younger band."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from estimation_vendor import face_b64, shared_vendor
from factories import AUTH, Running, running, write_policy
from redis_server import redis_url
from webhook_setup import webhook_env

from service.settings import Settings

pytestmark = [pytest.mark.anyio, pytest.mark.redis]
UNKNOWN = {"method": "os_signal", "source": "google_play", "user_status": "UNKNOWN"}
ADULT = {"method": "self_declaration", "birth_year": 1990}


def with_policy(settings: Settings, tmp_path: Path, replace: dict[str, str], **changes: Any) -> Settings:
    policy = write_policy(tmp_path, replace=replace)
    return settings.model_copy(update={"policy_path": policy, **changes})


async def events(run: Running, event_type: str) -> list[dict[str, Any]]:
    store = run.services.store
    await store.ensure_group("abuse-test")
    got = [json.loads(d.event.body) for d in await store.read_events("abuse-test", "t", 200, 0)]
    run.__dict__.setdefault("seen", []).extend(got)
    return [e for e in run.__dict__["seen"] if e["type"] == event_type]


async def introspect(run: Running, token: str) -> bool:
    r = await run.http.post("/v1/tokens/introspect", json={"token": token}, headers=AUTH)
    return bool(r.json()["active"])


def assert_locked(r: Any, reason: str, phrase: str) -> None:
    assert r.status_code == 429, r.text
    body = r.json()
    assert (body["code"], body["reason"]) == ("subject_locked", reason)
    assert phrase in body["consequence"]  # the policy's message says what it means for the user
    assert body["retry_after"] > 0


async def test_method_shopping_locks_then_demands_a_stronger_method(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (base, _, _):
        settings = with_policy(base, tmp_path, {"method_shopping: {max: 3": "method_shopping: {max: 2"})
        async with running(settings) as run:
            check = await run.start_check("shopper")
            r = await run.evidence(check["check_id"], UNKNOWN)
            assert r.json()["outcome"] == "failed"
            r = await run.evidence(check["check_id"], ADULT)  # another method, right after a failure
            assert_locked(r, "method_shopping", "many different methods")
            r = await run.http.post(
                "/v1/checks", json={"subject": "shopper", "jurisdiction": "default"}, headers=AUTH
            )
            assert_locked(r, "method_shopping", "many different methods")
            (flagged,) = await events(run, "subject.flagged")
            assert flagged["data"]["reason"] == "method_shopping"
            assert flagged["data"]["sanction"]["min_level"] == "effective"
            run.clock.advance(timedelta(hours=1, seconds=1))
            again = await run.start_check("shopper")
            assert [m["name"] for m in again["methods"]] == ["os_signal"]  # only it can reach effective
            declared = {
                "method": "os_signal",
                "source": "apple",
                "declaration": "self_declared",
                "lower_bound": 18,
            }
            r = await run.evidence(again["check_id"], declared)
            assert (r.json()["outcome"], r.json()["reason"]) == ("inconclusive", "insufficient_level")
            verified = {
                "method": "os_signal",
                "source": "google_play",
                "user_status": "VERIFIED",
                "age_lower": 18,
            }
            r = await run.evidence(again["check_id"], verified)
            assert r.json()["outcome"] == "passed", r.text
            assert r.json()["token"]["level"] == "effective"
            assert await run.services.store.get_sanction(again["sid"]) is None  # settled


@pytest.mark.parametrize(
    ("header", "limit"), [("Ageband-Device", "per_device"), ("Ageband-Client-IP", "per_ip")]
)
async def test_rapid_retries_from_one_device_or_ip_are_rate_limited(
    tmp_path: Path, header: str, limit: str
) -> None:
    raw = "203.0.113.77" if header == "Ageband-Client-IP" else "device-canary-4f1e"
    old = "per_device: {max: 30" if limit == "per_device" else "per_ip: {max: 300"
    async with webhook_env(tmp_path) as (base, _, prefix):
        settings = with_policy(base, tmp_path, {old: f"{limit}: {{max: 3"})
        async with running(settings) as run:
            headers = {**AUTH, header: raw}
            for i in range(3):
                check = await run.start_check(f"sock-{i}")
                r = await run.evidence(check["check_id"], UNKNOWN, headers=headers)
                assert r.status_code == 200, r.text
            check = await run.start_check("sock-3")
            r = await run.evidence(check["check_id"], UNKNOWN, headers=headers)
            assert r.status_code == 429, r.text
            body = r.json()
            assert (body["code"], body["scope"]) == ("rate_limited", limit.removeprefix("per_"))
            assert "15 minutes" in body["consequence"]
            r = await run.http.post(
                "/v1/checks", json={"subject": "sock-3", "jurisdiction": "default"}, headers=AUTH
            )
            assert_locked(r, "rate_limited", "15 minutes")
            # Pseudonyms only: the raw device id or IP is in no key, no value, no log line.
            admin = redis.asyncio.Redis.from_url(redis_url())
            try:
                keys = [k.decode() async for k in admin.scan_iter(match=f"{prefix}:*")]
                values = [await admin.dump(k) for k in keys]
            finally:
                await admin.aclose()
            assert any(":abz:{" in k for k in keys)
            assert not any(raw in k for k in keys)
            assert not any(v and raw.encode() in v for v in values)
            assert raw not in run.logs.getvalue()


async def test_repeated_failures_start_a_cooldown(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, _, _), running(settings) as run:
        for tries in (3, 2):  # five failures (three per method per check) over two checks
            check = await run.start_check("fumbler")
            for _ in range(tries):
                r = await run.evidence(check["check_id"], UNKNOWN)
        assert r.status_code == 200 and r.json()["outcome"] == "failed"
        r = await run.http.post(
            "/v1/checks", json={"subject": "fumbler", "jurisdiction": "default"}, headers=AUTH
        )
        assert_locked(r, "repeated_failures", "15 minutes")
        run.clock.advance(timedelta(minutes=16))
        assert (await run.start_check("fumbler"))["check_id"]


async def test_liveness_failure_revokes_tokens_locks_and_notifies(tmp_path: Path) -> None:
    vendor = shared_vendor()
    async with webhook_env(tmp_path) as (base, _, _):
        instance = {"type": "http_estimation", "config": vendor.config()}
        providers = {
            "enabled": ["os_signal", "self_declaration", "facial_estimation"],
            "instances": {"facial_estimation": instance},
        }
        liveness = {"    level: basic\n    buffer: 5": "    level: basic\n    liveness: true\n    buffer: 5"}
        settings = with_policy(base, tmp_path, liveness, providers=base.providers.model_validate(providers))
        async with running(settings) as run:
            sid, token = await run.adult_token("spoofer")
            assert await introspect(run, token)
            generation = (await run.services.store.get_record(sid)).generation  # type: ignore[union-attr]
            run.clock.advance(timedelta(seconds=5))
            check = await run.start_check("spoofer")
            r = await run.evidence(
                check["check_id"], {"method": "facial_estimation", "image": face_b64(30, 2, "fake")}
            )
            assert (r.json()["outcome"], r.json()["reason"]) == ("failed", "liveness_failed")
            assert not await introspect(run, token)  # every outstanding token is void
            record = await run.services.store.get_record(sid)
            assert record is not None and record.generation == generation + 1
            r = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)
            assert_locked(r, "liveness_failed", "real, present person")
            r = await run.http.post(
                "/v1/checks",
                json={"sid": sid, "jurisdiction": "default"},
                headers={**AUTH, "Accept-Language": "de"},
            )
            assert_locked(r, "liveness_failed", "anwesende Person")  # localized
            (flagged,) = await events(run, "subject.flagged")
            sanction = flagged["data"]["sanction"]
            assert (sanction["min_level"], sanction["tokens_revoked"]) == ("effective", True)
            assert sanction["locked_until"] is not None
            assert [e["data"]["reason"] for e in await events(run, "subject.revoked")] == ["sanction"]
            audit = [e for e in run.log_lines() if e.get("event") == "sanction.imposed"]
            assert [e["signal"] for e in audit] == ["liveness_failed"]


async def test_a_recheck_finding_a_younger_band_voids_the_older_tokens(tmp_path: Path) -> None:
    """16-17, then 13-15: a younger minor band. (From an adult band it is adult_claims_minor:
    tests/abuse/test_both_ways.py.)"""
    async with webhook_env(tmp_path) as (settings, _, _), running(settings) as run:
        first = await run.start_check("younger")
        older = {"method": "os_signal", "source": "ab1043", "bracket": "16_17"}
        passed = (await run.evidence(first["check_id"], older)).json()
        sid, adult_token = first["sid"], passed["token"]["token"]
        run.clock.advance(timedelta(seconds=10))
        check = await run.start_check("younger", purpose="recheck")
        r = await run.evidence(
            check["check_id"], {"method": "os_signal", "source": "ab1043", "bracket": "13_15"}
        )
        body = r.json()
        assert (body["outcome"], body["token"]["band"]) == ("passed", "13_15")
        assert not await introspect(run, adult_token)  # the 16-17 token is void
        assert await introspect(run, body["token"]["token"])  # the new, younger one is not
        (flagged,) = await events(run, "subject.flagged")
        assert flagged["data"]["reason"] == "younger_band"
        assert flagged["data"]["sanction"]["tokens_revoked"] is True
        assert [e["data"]["reason"] for e in await events(run, "subject.revoked")] == ["sanction"]
        completed = await events(run, "check.completed")
        assert [e["data"]["band"] for e in completed] == ["16_17", "13_15"]
        refreshed = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)
        assert refreshed.json()["band"] == "13_15"
