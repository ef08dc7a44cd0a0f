"""Sanctions in detail, on a real Redis: the per-sid attempt limit in its window, contradictory
signals in one check, next-method hints under a minimum level, and the policy's consequence
message reaching the user in evidence and refresh responses (English and German)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis.asyncio
from factories import AUTH, Running, running, write_policy
from redis_server import redis_url
from webhook_setup import webhook_env

from service.settings import Settings
from service.store.keys import Keys

pytestmark = [pytest.mark.anyio, pytest.mark.redis]
UNKNOWN = {"method": "os_signal", "source": "google_play", "user_status": "UNKNOWN"}
VERIFIED = {"method": "os_signal", "source": "google_play", "user_status": "VERIFIED", "age_lower": 18}
SUPERVISED_13_17 = {
    "method": "os_signal",
    "source": "google_play",
    "user_status": "SUPERVISED",
    "age_lower": 13,
    "age_upper": 17,
}
ADULT = {"method": "self_declaration", "birth_year": 1990}
DE = {**AUTH, "Accept-Language": "de"}


def with_policy(settings: Settings, tmp_path: Path, replace: dict[str, str]) -> Settings:
    return settings.model_copy(update={"policy_path": write_policy(tmp_path, replace=replace)})


async def events(run: Running, event_type: str) -> list[dict[str, Any]]:
    store = run.services.store
    await store.ensure_group("sanction-test")
    got = [json.loads(d.event.body) for d in await store.read_events("sanction-test", "t", 200, 0)]
    run.__dict__.setdefault("seen", []).extend(got)
    return [e for e in run.__dict__["seen"] if e["type"] == event_type]


def audit(run: Running, event: str) -> list[dict[str, Any]]:
    return [e for e in run.log_lines() if e.get("event") == event]


async def introspect(run: Running, token: str) -> bool:
    r = await run.http.post("/v1/tokens/introspect", json={"token": token}, headers=AUTH)
    return bool(r.json()["active"])


async def start_by_sid(run: Running, sid: str) -> dict[str, Any]:
    r = await run.http.post("/v1/checks", json={"sid": sid, "jurisdiction": "default"}, headers=AUTH)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def problem(r: Any, status: int, code: str, reason: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert (body["code"], body["reason"]) == (code, reason)
    return body


async def test_per_sid_attempt_limit_in_its_window_ends_in_the_rate_limited_sanction(tmp_path: Path) -> None:
    """More attempts for one subject than ``per_sid`` allows within its window: 429 rate_limited
    (scope sid), then the policy's lock; once the lock and the window have passed, checks go on."""
    async with webhook_env(tmp_path) as (base, _, prefix):
        settings = with_policy(
            base, tmp_path, {"per_sid: {max: 30, window: PT1H}": "per_sid: {max: 3, window: PT4S}"}
        )
        admin = redis.asyncio.Redis.from_url(redis_url())
        try:
            async with running(settings) as run:
                check = await run.start_check("hasty")
                counter = Keys(prefix).counter("attempts", check["sid"])
                for _ in range(3):
                    r = await run.evidence(check["check_id"], UNKNOWN)
                    assert (r.status_code, r.json()["outcome"]) == (200, "failed"), r.text
                # The window is the counter's TTL, in the store itself.
                assert 0 < await admin.ttl(counter) <= 4
                r = await run.evidence(check["check_id"], ADULT)  # the fourth attempt in the window
                body = r.json()
                assert (r.status_code, body["code"], body["scope"]) == (429, "rate_limited", "sid"), r.text
                assert "15 minutes" in body["consequence"]
                # The sanction the policy names for rate_limited: a 15-minute lock on checks and refreshes.
                r = await run.http.post(
                    "/v1/checks", json={"subject": "hasty", "jurisdiction": "default"}, headers=DE
                )
                locked = problem(r, 429, "subject_locked", "rate_limited")
                assert "15 Minuten" in locked["consequence"]  # localized
                assert 0 < locked["retry_after"] <= 15 * 60
                (flagged,) = audit(run, "subject.flagged")
                assert (flagged["reason"], flagged["scope"]) == ("rate_limited", "sid")
                (imposed,) = audit(run, "sanction.imposed")
                assert (imposed["signal"], imposed["tokens_revoked"]) == ("rate_limited", False)
                assert imposed["locked_until"] == int(run.clock.now().timestamp()) + 15 * 60
                assert await events(run, "subject.flagged") == []  # the policy says notify: false

                run.clock.advance(timedelta(minutes=15, seconds=1))  # the lock is over...
                for _ in range(80):  # ...and so is the window (real time, in Redis)
                    if not await admin.exists(counter):
                        break
                    await anyio.sleep(0.1)
                else:
                    raise AssertionError("the attempt counter outlived its window")
                again = await run.start_check("hasty")
                r = await run.evidence(again["check_id"], ADULT)
                assert (r.status_code, r.json()["outcome"]) == (200, "passed"), r.text
        finally:
            await admin.aclose()


async def test_contradictory_signals_in_one_check_apply_the_policys_sanction(tmp_path: Path) -> None:
    """An OS range of 13-17, then a declared adult birth year, in one check: not only audited but
    sanctioned as the policy says (lock an hour, revoke every token, tell the app)."""
    # Let an inconclusive OS range step up to the next method instead of taking the youngest band.
    step_up = {"    on_inconclusive: youngest\n    description:\n      en: The age range": (
        "    description:\n      en: The age range"
    )}  # fmt: skip
    async with webhook_env(tmp_path) as (base, _, _):
        settings = with_policy(base, tmp_path, step_up)
        async with running(settings) as run:
            sid, token = await run.adult_token("contradicts")
            generation = (await run.services.store.get_record(sid)).generation  # type: ignore[union-attr]
            run.clock.advance(timedelta(seconds=5))
            check = await run.start_check("contradicts", purpose="recheck")
            r = await run.evidence(check["check_id"], SUPERVISED_13_17)
            assert (r.json()["outcome"], r.json()["reason"]) == ("inconclusive", "inconclusive"), r.text
            r = await run.evidence(check["check_id"], ADULT, headers=DE)
            body = r.json()
            assert (r.status_code, body["outcome"], body["reason"]) == (200, "failed", "inconsistent_signals")
            assert body["sanction"] == "inconsistent_signals"
            assert "widersprechen sich" in body["consequence"]  # the policy's German message
            # Revoke every outstanding token: introspection says inactive, the generation moved on.
            assert not await introspect(run, token)
            record = await run.services.store.get_record(sid)
            assert record is not None and record.generation == generation + 1
            # Lock: checks and refreshes are refused for an hour, with the consequence.
            r = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)
            assert (
                "contradict each other"
                in problem(r, 429, "subject_locked", "inconsistent_signals")["consequence"]
            )
            r = await run.http.post("/v1/checks", json={"sid": sid, "jurisdiction": "default"}, headers=AUTH)
            problem(r, 429, "subject_locked", "inconsistent_signals")
            # Notify: the app hears of the flag and of the revocation.
            (flagged,) = await events(run, "subject.flagged")
            assert flagged["data"]["reason"] == "inconsistent_signals"
            assert flagged["data"]["sanction"]["tokens_revoked"] is True
            assert flagged["data"]["sanction"]["locked_until"] is not None
            assert [e["data"]["reason"] for e in await events(run, "subject.revoked")] == ["sanction"]
            # Audited once as a flag and once as the sanction.
            assert [e["reason"] for e in audit(run, "subject.flagged")] == ["inconsistent_signals"]
            assert [e["signal"] for e in audit(run, "sanction.imposed")] == ["inconsistent_signals"]
            run.clock.advance(timedelta(hours=1, seconds=1))
            assert (await start_by_sid(run, sid))["check_id"]  # the lock ends when the policy says


async def test_next_method_hint_skips_methods_below_a_sanctions_minimum_level(tmp_path: Path) -> None:
    """A sanction that demands a level without locking, imposed in the middle of a check: the hint
    and the allowed methods name only methods that can reach that level."""
    change = {
        "failures: {max: 5, window: PT1H}": "failures: {max: 2, window: PT1H}",
        "        repeated_failures:\n          lock: PT15M\n": (
            "        repeated_failures:\n          min_level: effective\n"
        ),
        "Your age check failed several times. You can try again in 15 minutes.": (
            "Your age check failed several times. Please use a method that is more certain of your age."
        ),
    }  # fmt: skip
    async with webhook_env(tmp_path) as (base, _, _), running(with_policy(base, tmp_path, change)) as run:
        check = await run.start_check("hinted")
        assert [m["name"] for m in check["methods"]] == ["os_signal", "self_declaration"]
        r = await run.evidence(check["check_id"], UNKNOWN)
        assert r.json()["check"]["next_method"]["name"] == "self_declaration"  # untried, no sanction yet
        assert r.json()["sanction"] is None
        r = await run.evidence(check["check_id"], UNKNOWN)  # the second failure: min_level effective
        body = r.json()
        assert (body["outcome"], body["sanction"]) == ("failed", "repeated_failures")
        assert "more certain of your age" in body["consequence"]
        assert body["check"]["status"] == "pending"
        # self_declaration is untried but only ever basic: the hint is os_signal, which can
        # reach effective from a verified source.
        assert body["check"]["next_method"]["name"] == "os_signal"
        r = await run.http.get(f"/v1/checks/{check['check_id']}", headers=AUTH)
        assert r.json()["next_method"]["name"] == "os_signal"
        r = await run.evidence(check["check_id"], VERIFIED)
        assert (r.json()["outcome"], r.json()["token"]["level"]) == ("passed", "effective"), r.text
        assert await run.services.store.get_sanction(check["sid"]) is None  # settled

        # Attempts used up for the only method that could reach it: nothing weaker is offered.
        other = await run.start_check("hinted-too")
        for _ in range(2):
            r = await run.evidence(other["check_id"], UNKNOWN)
        assert r.json()["check"]["next_method"]["name"] == "os_signal"
        r = await run.evidence(other["check_id"], UNKNOWN)
        body = r.json()
        assert (body["outcome"], body["check"]["status"]) == ("failed", "failed")
        assert body["check"]["next_method"] is None  # never self_declaration
        fresh = await run.start_check("hinted-too")
        assert [m["name"] for m in fresh["methods"]] == ["os_signal"]


@pytest.mark.parametrize(
    ("language", "phrase"),
    [("en", "younger age band than before"), ("de", "jüngeren Altersgruppe zugeordnet")],
)
async def test_a_passing_recheck_that_finds_a_younger_band_tells_the_user_what_it_means(
    tmp_path: Path, language: str, phrase: str
) -> None:
    """younger_band does not lock: the check passes, and the response carries the sanction and the
    policy's message in the user's language."""
    async with webhook_env(tmp_path) as (settings, _, _), running(settings) as run:
        first = await run.start_check("grew-younger")
        older = {"method": "os_signal", "source": "ab1043", "bracket": "16_17"}
        r = await run.evidence(first["check_id"], older)
        assert (r.json()["outcome"], r.json()["sanction"], r.json()["consequence"]) == ("passed", None, None)
        run.clock.advance(timedelta(seconds=10))
        check = await run.start_check("grew-younger", purpose="recheck")
        bracket = {"method": "os_signal", "source": "ab1043", "bracket": "13_15"}
        r = await run.evidence(check["check_id"], bracket, headers={**AUTH, "Accept-Language": language})
        body = r.json()
        assert (body["outcome"], body["token"]["band"]) == ("passed", "13_15")
        assert body["sanction"] == "younger_band"
        assert phrase in body["consequence"]


@pytest.mark.parametrize(
    ("headers", "phrase"),
    [(AUTH, "a method that gives more certainty"), (DE, "mit einer Methode, die Ihr Alter sicherer")],
)
async def test_refresh_under_a_sanctions_minimum_level_explains_the_consequence(
    tmp_path: Path, headers: dict[str, str], phrase: str
) -> None:
    """After method shopping: while locked, refresh answers 429 in the user's language; once the lock
    is over, the basic record is below the sanction's level, so refresh answers 409
    recheck_required with the sanction's reason, the consequence, and only methods that can reach it."""
    shopping = {"method_shopping: {max: 3": "method_shopping: {max: 2"}
    async with webhook_env(tmp_path) as (base, _, _):
        settings = with_policy(base, tmp_path, shopping)
        async with running(settings) as run:
            sid, _ = await run.adult_token("shopper")  # a basic record
            check = await run.start_check("shopper")
            await run.evidence(check["check_id"], UNKNOWN)
            r = await run.evidence(check["check_id"], ADULT)
            problem(r, 429, "subject_locked", "method_shopping")
            r = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=headers)
            assert phrase in problem(r, 429, "subject_locked", "method_shopping")["consequence"]
            run.clock.advance(timedelta(hours=1, seconds=1))
            r = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=headers)
            body = problem(r, 409, "recheck_required", "method_shopping")
            assert phrase in body["consequence"]
            assert body["methods"] == ["os_signal"]  # self_declaration cannot reach effective
            r = await run.evidence(body["check_id"], VERIFIED)
            assert (r.json()["outcome"], r.json()["token"]["level"]) == ("passed", "effective"), r.text
            r = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=headers)
            assert (r.status_code, r.json()["level"]) == (200, "effective")
