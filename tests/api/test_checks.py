"""The checks API over HTTP: start, evidence, state, expiry, limits, and who may see what.

Every test runs the real app (lifespan, memory store, bundled providers) on a pinned clock.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import redis.asyncio
import yaml
from factories import (
    ADMIN,
    AUTH,
    OTHER_CLIENT_KEY,
    PINNED,
    POLICIES,
    Running,
    bearer,
    make_settings,
    running,
    two_clients_settings,
    write_clients_file,
    write_policy,
)
from redis_server import delete_prefix, redis_url

from service.core.ids import new_check_id
from service.store.keys import Keys
from service.store.records import CheckState

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"
ADULT_YEAR = {"method": "self_declaration", "birth_year": 1990}
PLAY_VERIFIED_ADULT = {
    "method": "os_signal",
    "source": "google_play",
    "user_status": "VERIFIED",
    "age_lower": 18,
    "age_upper": None,
}
PLAY_UNKNOWN = {"method": "os_signal", "source": "google_play", "user_status": "UNKNOWN"}

# A jurisdiction that needs `effective` assurance for every band above 12, tries the weakest
# method first, and fails (rather than guessing) when the waterfall ends inconclusive. The
# methods' own `on_inconclusive: youngest` is removed so the jurisdiction's step_up applies.
STEPPED = """
  stepped:
    extends: default
    required_level: {under_13: basic, 13_15: effective, 16_17: effective, 18_plus: effective}
    waterfall: [self_declaration, os_signal]
    on_exhausted: fail
"""


def problem_of(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


def stepped_settings(tmp_path: Path) -> Any:
    policy = write_policy(tmp_path, replace={"    on_inconclusive: youngest\n": ""}, append=STEPPED)
    return make_settings(policy_path=policy)


async def get_check(run: Running, check_id: str, key_headers: dict[str, str] = AUTH) -> httpx.Response:
    return await run.http.get(f"/v1/checks/{check_id}", headers=key_headers)


# --- start --------------------------------------------------------------------------------------


async def test_start_returns_check_id_sid_first_method_all_methods_and_explanation() -> None:
    async with running() as run:
        r = await run.http.post(
            "/v1/checks", json={"subject": "user-1", "jurisdiction": "default"}, headers=AUTH
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["check_id"].startswith("chk_")
        assert body["sid"].startswith("sid_")
        assert "user-1" not in r.text  # only the pseudonym comes back
        assert body["expires_at"] == "2026-03-10T12:15:00Z"  # check_ttl PT15M on the pinned clock
        assert body["method"]["name"] == "os_signal"
        assert [m["name"] for m in body["methods"]] == ["os_signal", "self_declaration"]
        assert body["methods"][0] == body["method"]
        explanation = body["explanation"]
        assert set(explanation) == {"uses", "keeps", "why"}
        assert explanation["uses"] == body["method"]["description"]
        assert "do not keep your birth date" in explanation["keeps"]
        assert explanation["why"]


async def test_accept_language_de_gives_german_texts() -> None:
    texts = yaml.safe_load((POLICIES / "default.yaml").read_text(encoding="utf-8"))
    async with running() as run:
        r = await run.http.post(
            "/v1/checks",
            json={"subject": "user-1", "jurisdiction": "default"},
            headers={**AUTH, "Accept-Language": "de-DE,de;q=0.9,en;q=0.5"},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["explanation"]["keeps"] == texts["explanation"]["keeps"]["de"]
        assert body["explanation"]["why"] == texts["explanation"]["why"]["de"]
        assert body["explanation"]["uses"] == texts["methods"]["os_signal"]["description"]["de"]
        assert [m["description"] for m in body["methods"]] == [
            texts["methods"]["os_signal"]["description"]["de"],
            texts["methods"]["self_declaration"]["description"]["de"],
        ]


async def test_unknown_jurisdiction_is_400_listing_known_ones() -> None:
    async with running() as run:
        r = await run.http.post("/v1/checks", json={"subject": "u", "jurisdiction": "XX"}, headers=AUTH)
        known = problem_of(r, 400, "unknown_jurisdiction")["known"]
        assert known == ["AU", "EU", "GB", "US", "US-CA", "default"]  # the shipped packs


# --- outcomes -----------------------------------------------------------------------------------


async def test_self_declared_adult_passes_with_a_token() -> None:
    async with running() as run:
        check = await run.start_check()
        r = await run.evidence(check["check_id"], ADULT_YEAR)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["outcome"], body["reason"]) == ("passed", None)
        assert body["check"]["status"] == "passed"
        token = body["token"]
        assert token["token_type"] == "ageband+jwt"
        assert (token["band"], token["level"]) == ("18_plus", "basic")
        assert token["expires_in"] == 300
        assert token["token"].count(".") == 2
        assert token["recheck_due"] is False


async def test_os_signal_google_play_verified_adult_passes_at_effective_level() -> None:
    async with running() as run:
        check = await run.start_check()
        r = await run.evidence(check["check_id"], PLAY_VERIFIED_ADULT)
        body = r.json()
        assert body["outcome"] == "passed", body
        # The method's level is basic; the qualifier google_play.verified maps to effective.
        assert (body["token"]["band"], body["token"]["level"]) == ("18_plus", "effective")


async def test_birth_year_straddling_15_and_16_gets_the_youngest_band() -> None:
    async with running() as run:
        check = await run.start_check()
        # Born 2010, asked in March 2026: 15 or 16. self_declaration says on_inconclusive: youngest.
        r = await run.evidence(check["check_id"], {"method": "self_declaration", "birth_year": 2010})
        body = r.json()
        assert body["outcome"] == "passed", body
        assert body["token"]["band"] == "13_15"
        record = await run.services.store.records.get_record(check["sid"])
        assert record is not None
        assert record.band == "13_15"
        assert record.age_up_at is None  # a two-year interval gives no exact birthday to age up on


async def test_os_signal_unknown_status_fails_the_attempt_and_offers_the_next_method() -> None:
    async with running() as run:
        check = await run.start_check()
        r = await run.evidence(check["check_id"], PLAY_UNKNOWN)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["outcome"], body["reason"], body["token"]) == ("failed", "signal_unavailable", None)
        assert body["check"]["status"] == "pending"
        assert body["check"]["reason"] is None
        assert body["check"]["methods_tried"] == ["os_signal"]
        assert body["check"]["next_method"]["name"] == "self_declaration"
        assert (await run.services.store.records.get_record(check["sid"])) is None


async def test_contradicting_signals_fail_as_inconsistent_with_no_record_or_token(tmp_path: Path) -> None:
    async with running(stepped_settings(tmp_path)) as run:
        check = await run.start_check(jurisdiction="stepped")
        apple_13_15 = {
            "method": "os_signal",
            "source": "apple",
            "declaration": "self_declared",
            "lower_bound": 13,
            "upper_bound": 15,
        }
        first = (await run.evidence(check["check_id"], apple_13_15)).json()
        assert (first["outcome"], first["reason"]) == ("inconclusive", "insufficient_level")
        r = await run.evidence(check["check_id"], ADULT_YEAR)  # [35, 36] ∩ [13, 15] is empty
        body = r.json()
        assert (body["outcome"], body["reason"], body["token"]) == ("failed", "inconsistent_signals", None)
        assert (body["check"]["status"], body["check"]["reason"]) == ("failed", "inconsistent_signals")
        assert (await run.services.store.records.get_record(check["sid"])) is None
        refresh = await run.http.post("/v1/tokens/refresh", json={"sid": check["sid"]}, headers=AUTH)
        problem_of(refresh, 404, "unknown_subject")
        flagged = [e for e in run.log_lines() if e.get("event") == "subject.flagged"]
        assert [e.get("reason") for e in flagged] == ["inconsistent_signals"]


async def test_self_declared_adult_steps_up_to_os_signal_where_effective_is_required(
    tmp_path: Path,
) -> None:
    async with running(stepped_settings(tmp_path)) as run:
        check = await run.start_check(jurisdiction="stepped")
        r = await run.evidence(check["check_id"], ADULT_YEAR)
        body = r.json()
        assert (body["outcome"], body["reason"], body["token"]) == (
            "inconclusive",
            "insufficient_level",
            None,
        )
        assert body["check"]["next_method"]["name"] == "os_signal"
        r = await run.evidence(check["check_id"], PLAY_VERIFIED_ADULT)
        body = r.json()
        assert body["outcome"] == "passed", body
        assert (body["token"]["band"], body["token"]["level"]) == ("18_plus", "effective")


async def test_inconclusive_after_the_whole_waterfall_fails_when_on_exhausted_is_fail(
    tmp_path: Path,
) -> None:
    async with running(stepped_settings(tmp_path)) as run:
        check = await run.start_check(jurisdiction="stepped")
        r = await run.evidence(check["check_id"], {"method": "self_declaration", "birth_year": 2010})
        assert (r.json()["outcome"], r.json()["reason"]) == ("inconclusive", "inconclusive")
        apple_13_17 = {
            "method": "os_signal",
            "source": "apple",
            "declaration": "guardian_declared",
            "lower_bound": 13,
            "upper_bound": 17,
        }
        body = (await run.evidence(check["check_id"], apple_13_17)).json()  # still [15, 16]
        assert (body["outcome"], body["reason"], body["token"]) == ("failed", "inconclusive", None)
        assert body["check"]["status"] == "failed"
        assert (await run.services.store.records.get_record(check["sid"])) is None


# --- bad evidence and methods -------------------------------------------------------------------


async def test_invalid_evidence_is_422_naming_fields_without_echoing_values() -> None:
    canaries = ("1987-04-17", "canary-source-7731", "thirteen-canary")
    async with running() as run:
        check = await run.start_check()
        cases: list[tuple[dict[str, Any], set[str]]] = [
            ({"method": "self_declaration", "birth_year": canaries[0]}, {"birth_year"}),
            ({"method": "os_signal", "source": canaries[1]}, {"source"}),
            (
                {
                    "method": "os_signal",
                    "source": "apple",
                    "declaration": "self_declared",
                    "lower_bound": canaries[2],
                },
                {"lower_bound"},
            ),
            ({"method": "self_declaration", "birth_year": 1990, "dob": canaries[0]}, {"dob"}),
        ]
        for evidence, fields in cases:
            r = await run.evidence(check["check_id"], evidence)
            body = problem_of(r, 422, "invalid_evidence")
            assert {e["field"] for e in body["errors"]} == fields, body
            for canary in canaries:
                assert canary not in r.text
        for canary in canaries:
            assert canary not in run.logs.getvalue()


async def test_unknown_method_is_400_listing_the_known_methods() -> None:
    async with running() as run:
        check = await run.start_check()
        r = await run.evidence(check["check_id"], {"method": "palm_reading"})
        body = problem_of(r, 400, "unknown_method")
        assert body["known"] == ["os_signal", "self_declaration"]
        assert "palm_reading" not in r.text


async def test_a_method_whose_provider_is_not_enabled_is_503_method_unavailable() -> None:
    # facial_estimation is in the default waterfall; no provider for it is enabled by default.
    async with running() as run:
        check = await run.start_check()
        r = await run.evidence(check["check_id"], {"method": "facial_estimation", "image": "AAAA"})
        body = problem_of(r, 503, "method_unavailable")
        assert body["available"] == ["os_signal", "self_declaration"]
        assert r.headers["Retry-After"] == "30"  # like every 503: the SDKs wait on it
        state = (await get_check(run, check["check_id"])).json()
        assert (state["attempts_left"], state["methods_tried"]) == (5, [])  # no attempt spent
        path = f"/v1/checks/{check['check_id']}/presentation"
        problem_of(await run.http.get(f"{path}/facial_estimation", headers=AUTH), 503, "method_unavailable")
        problem_of(await run.http.get(f"{path}/palm_reading", headers=AUTH), 400, "unknown_method")


async def test_an_unknown_identity_provider_is_404_unknown_provider() -> None:
    # The demo client has no return URLs: the provider is still what the answer names.
    async with running() as run:
        check = await run.start_check()
        start = f"/v1/checks/{check['check_id']}/oidc/{{}}/start"
        params = {"return_url": "https://app.example/done"}
        for name in ("nope", "self_declaration"):  # no provider at all; a provider, not a redirect one
            r = await run.http.get(start.format(name), params=params, headers=AUTH)
            assert problem_of(r, 404, "unknown_provider")["known"] == []
        r = await run.http.get(start.format("facial_estimation"), params=params, headers=AUTH)
        problem_of(r, 503, "method_unavailable")  # a method of the policy, its provider off
        callback = await run.http.get("/v1/oidc/nope/callback", params={"state": "x"})
        problem_of(callback, 404, "unknown_provider")


# --- attempt limits -----------------------------------------------------------------------------


async def test_per_check_attempt_limit_gives_429_and_fails_the_check() -> None:
    async with running() as run:
        check = await run.start_check()
        bad = {"method": "self_declaration", "birth_year": "not a year"}
        # attempts: {per_check: 5}; evidence that does not parse still costs one
        rejected = [await run.evidence(check["check_id"], bad) for _ in range(5)]
        left = [problem_of(r, 422, "invalid_evidence")["attempts_left"] for r in rejected]
        assert left == [4, 3, 2, 1, 0]
        r = await run.evidence(check["check_id"], ADULT_YEAR)
        problem_of(r, 429, "attempts_exhausted")
        state = (await get_check(run, check["check_id"])).json()
        assert (state["status"], state["reason"]) == ("failed", "attempts_exhausted")
        assert state["next_method"] is None
        problem_of(await run.evidence(check["check_id"], ADULT_YEAR), 409, "check_closed")
        assert (await run.services.store.records.get_record(check["sid"])) is None


@pytest.mark.redis
async def test_a_422_on_evidence_says_how_many_attempts_the_store_has_left(tmp_path: Path) -> None:
    url, prefix = redis_url(), f"att{uuid.uuid4().hex[:8]}"
    policy = write_policy(
        tmp_path, replace={"per_sid: {max: 30, window: PT1H}": "per_sid: {max: 3, window: PT1H}"}
    )
    settings = make_settings(
        policy_path=policy, store={"backend": "redis", "redis_url": url, "prefix": prefix}
    )
    admin = redis.asyncio.Redis.from_url(url)
    try:
        async with running(settings) as run:
            check = await run.start_check()
            counter = Keys(prefix).attempts(check["check_id"])

            async def left_in_store() -> int:
                return 5 - int(await admin.get(counter) or 0)  # attempts: {per_check: 5}

            bad = {"method": "self_declaration", "birth_year": "not a year"}
            for expected in (4, 3):
                body = problem_of(await run.evidence(check["check_id"], bad), 422, "invalid_evidence")
                assert body["attempts_left"] == expected == await left_in_store()
                assert (await get_check(run, check["check_id"])).json()["attempts_left"] == expected
            failed = (await run.evidence(check["check_id"], PLAY_UNKNOWN)).json()
            assert failed["check"]["attempts_left"] == 2 == await left_in_store()
            # Refused before the evidence is looked at (the subject's fourth submission in the
            # per-sid window): no attempt of the check is spent.
            problem_of(await run.evidence(check["check_id"], bad), 429, "rate_limited")
            assert await left_in_store() == 2
            assert (await get_check(run, check["check_id"])).json()["attempts_left"] == 2
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()


async def test_fifth_failed_attempt_fails_the_check() -> None:
    async with running() as run:
        check = await run.start_check()
        future_year = {"method": "self_declaration", "birth_year": 2100}  # implausible_age
        outcomes = [await run.evidence(check["check_id"], PLAY_UNKNOWN) for _ in range(3)]
        outcomes += [await run.evidence(check["check_id"], future_year) for _ in range(2)]
        bodies = [r.json() for r in outcomes]
        assert [b["check"]["status"] for b in bodies] == ["pending"] * 4 + ["failed"]
        assert [b["check"]["attempts_left"] for b in bodies] == [4, 3, 2, 1, 0]
        assert bodies[-1]["check"]["next_method"] is None
        problem_of(await run.evidence(check["check_id"], ADULT_YEAR), 409, "check_closed")


async def test_per_method_attempt_limit_refuses_that_method_but_keeps_the_check() -> None:
    async with running() as run:
        check = await run.start_check()
        for _ in range(3):  # attempts: {per_method: 3}
            assert (await run.evidence(check["check_id"], PLAY_UNKNOWN)).json()["outcome"] == "failed"
        r = await run.evidence(check["check_id"], PLAY_VERIFIED_ADULT)
        body = problem_of(r, 409, "method_not_allowed")
        assert body["allowed"] == ["self_declaration"]
        state = (await get_check(run, check["check_id"])).json()
        assert (state["status"], state["attempts_left"]) == ("pending", 2)
        assert state["next_method"]["name"] == "self_declaration"
        assert (await run.evidence(check["check_id"], ADULT_YEAR)).json()["outcome"] == "passed"


# --- check lifecycle ----------------------------------------------------------------------------


async def test_expired_check_is_410_after_its_store_key_is_gone() -> None:
    async with running() as run:
        check = await run.start_check()
        run.clock.advance(timedelta(minutes=15, seconds=1))
        problem_of(await run.evidence(check["check_id"], ADULT_YEAR), 410, "check_expired")
        problem_of(await get_check(run, check["check_id"]), 410, "check_expired")


async def test_expired_check_is_410_while_its_store_key_still_exists() -> None:
    async with running() as run:
        started = await run.start_check()
        now = run.clock.now()
        expires = now + timedelta(minutes=15)
        # A store key that outlives its check (Redis rounds TTLs; replicas' clocks differ).
        check = CheckState(
            check_id=new_check_id(expires),
            client_id="demo",
            sid=started["sid"],
            jurisdiction="default",
            purpose="signup",
            policy_version=run.services.policy.current.version,
            created_at=int(now.timestamp()),
            expires_at=int(expires.timestamp()),
        )
        await run.services.store.checks.create_check(check, ttl=3600)
        run.clock.advance(timedelta(minutes=16))
        assert await run.services.store.checks.get_check(check.check_id) is not None
        problem_of(await run.evidence(check.check_id, ADULT_YEAR), 410, "check_expired")
        problem_of(await get_check(run, check.check_id), 410, "check_expired")


async def test_made_up_but_well_formed_expired_check_id_is_410() -> None:
    async with running() as run:
        made_up = new_check_id(PINNED - timedelta(minutes=1))
        problem_of(await get_check(run, made_up), 410, "check_expired")
        problem_of(await run.evidence(made_up, ADULT_YEAR), 410, "check_expired")


async def test_unknown_check_id_is_404() -> None:
    async with running() as run:
        for check_id in (new_check_id(PINNED + timedelta(minutes=10)), "chk_nope", "not-a-check"):
            problem_of(await get_check(run, check_id), 404, "unknown_check")
            problem_of(await run.evidence(check_id, ADULT_YEAR), 404, "unknown_check")


async def test_completed_check_is_409_check_closed() -> None:
    async with running() as run:
        check = await run.start_check()
        assert (await run.evidence(check["check_id"], ADULT_YEAR)).json()["outcome"] == "passed"
        r = await run.evidence(check["check_id"], ADULT_YEAR)
        assert problem_of(r, 409, "check_closed")["status_now"] == "passed"


async def test_get_check_returns_its_state() -> None:
    async with running() as run:
        check = await run.start_check(purpose="step_up")
        await run.evidence(check["check_id"], PLAY_UNKNOWN)
        r = await get_check(run, check["check_id"])
        assert r.status_code == 200, r.text
        assert r.json() == {
            "check_id": check["check_id"],
            "status": "pending",
            "jurisdiction": "default",
            "purpose": "step_up",
            "expires_at": "2026-03-10T12:15:00Z",
            "methods_tried": ["os_signal"],
            "attempts_left": 4,
            "next_method": {
                "name": "self_declaration",
                "method_class": "self_declaration",
                "description": "Your year of birth, as you state it.",
            },
            "reason": None,
            "token": None,
        }


# --- clients ------------------------------------------------------------------------------------


async def test_client_never_sees_another_clients_check(tmp_path: Path) -> None:
    other = bearer(OTHER_CLIENT_KEY)
    async with running(two_clients_settings(tmp_path)) as run:
        check = await run.start_check()
        problem_of(await get_check(run, check["check_id"], other), 404, "unknown_check")
        r = await run.evidence(check["check_id"], ADULT_YEAR, headers=other)
        problem_of(r, 404, "unknown_check")
        state = (await get_check(run, check["check_id"])).json()
        assert (state["status"], state["methods_tried"]) == ("pending", [])  # untouched


async def test_client_never_uses_another_clients_sid(tmp_path: Path) -> None:
    other = bearer(OTHER_CLIENT_KEY)
    async with running(two_clients_settings(tmp_path)) as run:
        sid, _ = await run.adult_token("user-1")
        theirs = await run.http.post(
            "/v1/checks", json={"subject": "user-1", "jurisdiction": "default"}, headers=other
        )
        assert theirs.json()["sid"] != sid  # the same app user is a different pseudonym per client
        r = await run.http.post("/v1/checks", json={"sid": sid, "jurisdiction": "default"}, headers=other)
        problem_of(r, 404, "unknown_subject")
        for path in ("/v1/tokens/refresh", "/v1/subjects/revoke"):
            problem_of(await run.http.post(path, json={"sid": sid}, headers=other), 404, "unknown_subject")
        # Erasure is idempotent, so it answers as for a subject already gone: nothing of theirs.
        erased = await run.http.post("/v1/subjects/erase", json={"sid": sid}, headers=other)
        assert (erased.status_code, erased.json()) == (200, {"erased": True, "found": False})
        assert await run.services.store.records.get_record(sid) is not None  # nothing revoked or erased
        assert await run.services.store.revocations.revoked_at(sid) is None
        run.clock.advance(timedelta(days=100))
        due = await run.http.get("/v1/rechecks/due", headers=other)
        assert due.json() == {"items": [], "next_cursor": None}
        mine = await run.http.get("/v1/rechecks/due", headers=AUTH)
        assert [i["sid"] for i in mine.json()["items"]] == [sid]


async def test_the_due_list_pages_from_any_cursor_of_its_form_and_refuses_unknown_parameters() -> None:
    async with running() as run:
        sid, _ = await run.adult_token("paged", 1990)
        run.clock.advance(timedelta(days=100))
        # Any string of openapi.yaml's pattern names a position: before every entry, or after.
        for made_up, listed in ((f"1.sid_{'A' * 43}", [sid]), (f"999999.sid_{'A' * 43}", [])):
            r = await run.http.get("/v1/rechecks/due", params={"cursor": made_up}, headers=AUTH)
            assert [i["sid"] for i in r.json()["items"]] == listed, r.text
        problem_of(
            await run.http.get("/v1/rechecks/due", params={"cursor": "x"}, headers=AUTH),
            400,
            "invalid_cursor",
        )
        typo = await run.http.get("/v1/rechecks/due", params={"limt": "5"}, headers=AUTH)
        assert "limt" not in problem_of(typo, 422, "validation_failed")["detail"]  # input never echoed
        bare = await run.http.get("/v1/rechecks/due", params={"limt": "5"})
        problem_of(bare, 401, "unauthorized")  # the credential is checked first


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-key", "Basic ZGVtbzpkZW1v", "Bearer", "ageband-demo-key", "Bearer " + "k" * 600],
)
async def test_wrong_or_missing_api_key_is_401_with_www_authenticate(authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with running() as run:
        for r in (
            await run.http.post(
                "/v1/checks", json={"subject": "u", "jurisdiction": "default"}, headers=headers
            ),
            await run.http.get(f"/v1/checks/{new_check_id(PINNED)}", headers=headers),
            await run.http.get("/v1/rechecks/due", headers=headers),
        ):
            problem_of(r, 401, "unauthorized")
            assert r.headers["www-authenticate"] == "Bearer"


async def test_admin_key_cannot_act_as_a_client() -> None:
    async with running() as run:
        r = await run.http.post("/v1/checks", json={"subject": "u", "jurisdiction": "default"}, headers=ADMIN)
        problem_of(r, 403, "forbidden")
        problem_of(await run.http.get("/v1/rechecks/due", headers=ADMIN), 403, "forbidden")


async def test_jurisdiction_not_allowed_for_the_client_is_403(tmp_path: Path) -> None:
    clients = write_clients_file(tmp_path, {"gb-app": ("gb-app-key-0123456789", ["GB"])})
    async with running(make_settings(clients_file=clients)) as run:
        r = await run.http.post(
            "/v1/checks",
            json={"subject": "u", "jurisdiction": "default"},
            headers=bearer("gb-app-key-0123456789"),
        )
        problem_of(r, 403, "jurisdiction_not_allowed")


async def test_start_with_an_own_sid_runs_a_check_for_that_subject() -> None:
    async with running() as run:
        sid, _ = await run.adult_token("user-1")
        r = await run.http.post("/v1/checks", json={"sid": sid, "jurisdiction": "default"}, headers=AUTH)
        assert r.status_code == 201, r.text
        assert r.json()["sid"] == sid
        unknown = {"sid": "sid_" + "B" * 43, "jurisdiction": "default"}
        problem_of(await run.http.post("/v1/checks", json=unknown, headers=AUTH), 404, "unknown_subject")


async def test_concurrent_submissions_complete_a_check_only_once() -> None:
    async with running() as run:
        check = await run.start_check()
        responses: list[httpx.Response] = []

        async def submit() -> None:
            responses.append(await run.evidence(check["check_id"], ADULT_YEAR))

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(submit)
        passed = [r for r in responses if r.status_code == 200 and r.json()["outcome"] == "passed"]
        assert len(passed) == 1
        others = [r for r in responses if r not in passed]
        assert {(r.status_code, r.json()["code"]) for r in others} <= {
            (409, "check_closed"),
            (409, "check_busy"),
        }
        stored = [e for e in run.log_lines() if e.get("event") == "record.stored"]
        assert len(stored) == 1


async def test_attempts_left_counts_attempts_spent_on_invalid_evidence() -> None:
    async with running() as run:
        check = await run.start_check()
        problem_of(
            await run.evidence(check["check_id"], {"method": "self_declaration", "birth_year": "x"}),
            422,
            "invalid_evidence",
        )
        assert (await get_check(run, check["check_id"])).json()["attempts_left"] == 4
