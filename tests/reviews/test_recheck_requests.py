"""Re-checks an app demands (POST /v1/subjects/recheck), through the API with a pinned clock:
they take effect at once in decisions and refresh, the subject is due, the deadline is enforced,
a strong enough re-check settles them, and only the app's own subjects can be asked about."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import (
    AUTH,
    OTHER_CLIENT_KEY,
    PINNED,
    Running,
    bearer,
    running,
    two_clients_settings,
)
from webhook_setup import webhook_env

from service.flows.worker import run_timers

pytestmark = pytest.mark.anyio

GUARDIAN = {"method": "os_signal", "source": "apple", "declaration": "guardian_declared"}
TYPED = {"method": "self_declaration"}


async def _recheck(run: Running, sid: str, **extra: Any) -> Any:
    body = {"sid": sid, "reason": "reported_adult_posing_as_minor", **extra}
    return await run.http.post("/v1/subjects/recheck", json=body, headers=AUTH)


async def _decide(run: Running, action: str, actor: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    body = {"jurisdiction": "default", "action": action, "actor": actor, "target": target}
    r = await run.http.post("/v1/decisions", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def _refresh(run: Running, sid: str) -> Any:
    return await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)


def _audit(run: Running, event: str) -> list[dict[str, Any]]:
    return [e for e in run.log_lines() if e.get("event") == event]


async def _due(run: Running) -> list[str]:
    r = await run.http.get("/v1/rechecks/due", headers=AUTH)
    assert r.status_code == 200, r.text
    return [item["sid"] for item in r.json()["items"]]


async def test_a_moderator_recheck_on_a_13_15_subject_takes_effect_in_decisions_and_refresh_at_once() -> None:
    async with running() as run:
        sid, token = await run.guardian_token("reported")
        _, friend = await run.guardian_token("friend")
        before = await _decide(run, "contact.request", {"token": friend}, {"token": token})
        assert before["allowed"] is True
        assert sid not in await _due(run)

        r = await _recheck(run, sid, reason="moderator_request")
        assert r.status_code == 202, r.text
        body = r.json()
        assert (body["sid"], body["reason"], body["min_level"], body["status"]) == (
            sid, "moderator_request", "effective", "pending",
        )  # fmt: skip
        assert body["deadline"].startswith((PINNED + timedelta(days=7)).date().isoformat())

        # The token issued before the request now counts as unconfirmed, both ways.
        hidden = await _decide(run, "contact.request", {"token": friend}, {"token": token})
        assert (hidden["allowed"], hidden["reason"]) == (False, "minor_account_unconfirmed")
        blocked = await _decide(run, "contact.request", {"token": token}, {"token": friend})
        assert (blocked["allowed"], blocked["reason"]) == (False, "minor_band_unconfirmed")
        batch = await run.http.post(
            "/v1/decisions/batch",
            json={
                "jurisdiction": "default", "action": "contact.request", "actor": {"token": friend},
                "targets": [{"id": "r", "token": token}, {"id": "f", "token": friend}], "reasons": True,
            },
            headers=AUTH,
        )  # fmt: skip
        assert batch.status_code == 200, batch.text
        assert batch.json()["allowed"] == ["f"]
        assert batch.json()["reasons"]["r"]["reason"] == "minor_account_unconfirmed"
        # Refresh says so, and its token carries the pending view of the band.
        refreshed = await _refresh(run, sid)
        assert refreshed.status_code == 200, refreshed.text
        out = refreshed.json()
        assert (out["band"], out["upper_level"], out["recheck_due"]) == ("13_15", None, True)
        assert (out["recheck_reason"], out["recheck_deadline"]) == ("moderator_request", body["deadline"])
        assert sid in await _due(run)
        (event,) = _audit(run, "recheck.requested")
        assert (event["reason"], event["min_level"]) == ("moderator_request", "effective")
        assert event["sid_hash"] and "sid" not in event  # the trail names subjects by sid_hash
        # Decisions given bands alone are untouched: the policy's tables know no subject.
        assert (await _decide(run, "contact.request", _confirmed(), _confirmed()))["allowed"] is True


def _confirmed() -> dict[str, str]:
    return {"band": "13_15", "level": "effective", "upper_level": "effective"}


async def test_the_deadline_is_enforced_with_the_policys_sanction_once() -> None:
    async with running() as run:
        sid, token = await run.guardian_token("late")
        deadline = PINNED + timedelta(days=3)
        r = await _recheck(run, sid, deadline=deadline.isoformat())
        assert r.status_code == 202, r.text
        run.clock.advance(timedelta(days=2, hours=23))
        assert (await _refresh(run, sid)).status_code == 200  # not yet
        run.clock.advance(timedelta(hours=1))
        late = await _refresh(run, sid)
        assert late.status_code == 409, late.text
        problem = late.json()
        assert (problem["code"], problem["reason"]) == ("recheck_required", "recheck_missed")
        assert "was not done in time" in problem["consequence"]
        introspected = await run.http.post("/v1/tokens/introspect", json={"token": token}, headers=AUTH)
        assert introspected.json() == {"active": False}  # the bundled sanction revokes tokens
        again = await _refresh(run, sid)
        assert again.status_code == 409
        (imposed,) = _audit(run, "sanction.imposed")  # once, however often refresh is asked
        assert imposed["signal"] == "recheck_missed"
        assert len(_audit(run, "recheck.missed")) == 1
        # The new check offers only methods that reach the sanction's level.
        assert "self_declaration" not in problem["methods"]
        assert problem["methods"]


async def test_the_sanction_a_missed_deadline_brings_on_binds_the_refresh_that_imposed_it() -> None:
    """Refresh reads the subject's sanction with its record, before it finds the deadline missed:
    the sanction it then imposes is read again, and its minimum level (above the self-declared
    record's) is why this very refresh asks for a check."""
    async with running() as run:
        sid, _ = await run.adult_token("typed-late")
        deadline = PINNED + timedelta(days=3)
        assert (await _recheck(run, sid, deadline=deadline.isoformat())).status_code == 202
        run.clock.set(deadline)
        late = await _refresh(run, sid)
        assert late.status_code == 409, late.text
        problem = late.json()
        assert (problem["code"], problem["reason"]) == ("recheck_required", "recheck_missed")
        assert problem["detail"].startswith("a sanction is in force")
        assert "was not done in time" in problem["consequence"]
        again = await _refresh(run, sid)  # read with the record this time: the same answer
        assert (again.status_code, again.json()["detail"]) == (409, problem["detail"])
        (imposed,) = _audit(run, "sanction.imposed")
        assert (imposed["signal"], imposed["min_level"]) == ("recheck_missed", "effective")


async def test_the_workers_timer_enforces_a_missed_deadline_without_a_refresh(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, _, _), running(settings) as run:
        sid, token = await run.guardian_token("silent")
        deadline = PINNED + timedelta(days=3, hours=5)
        assert (await _recheck(run, sid, deadline=deadline.isoformat())).status_code == 202
        worker = run.services.worker
        assert await run_timers(worker) == 1  # today: the due notice; then the deadline's day
        run.clock.advance(timedelta(days=2))
        assert await run_timers(worker) == 0
        run.clock.set(deadline - timedelta(minutes=1))  # the deadline's day, before its hour
        await run_timers(worker)
        assert _audit(run, "recheck.missed") == []
        run.clock.set(deadline)  # the subject never comes back: the timer alone enforces it
        await run_timers(worker)
        (missed,) = _audit(run, "recheck.missed")
        assert (missed["reason"], missed["deadline"]) == ("reported_adult_posing_as_minor", _z(deadline))
        (imposed,) = _audit(run, "sanction.imposed")
        assert (imposed["signal"], imposed["min_level"], imposed["tokens_revoked"]) == (
            "recheck_missed", "effective", True,
        )  # fmt: skip
        introspected = await run.http.post("/v1/tokens/introspect", json={"token": token}, headers=AUTH)
        assert introspected.json() == {"active": False}
        store = run.services.store
        await store.events.ensure_group("deadline")
        got = [json.loads(d.event.body) for d in await store.events.read_events("deadline", "t", 100, 0)]
        by_type = {e["type"]: e["data"] for e in got}
        assert by_type["subject.flagged"] == {
            "sid": sid, "reason": "recheck_missed",
            "sanction": {"locked_until": None, "min_level": "effective", "tokens_revoked": True},
        }  # fmt: skip
        assert by_type["subject.revoked"] == {"sid": sid, "reason": "sanction"}
        assert by_type["subject.recheck_missed"] == {
            "sid": sid, "reason": "reported_adult_posing_as_minor", "deadline": _z(deadline),
        }  # fmt: skip
        # Once: neither a later scan nor the subject's refresh imposes it again.
        run.clock.advance(timedelta(days=1))
        await run_timers(worker)
        late = await _refresh(run, sid)
        assert (late.status_code, late.json()["reason"]) == (409, "recheck_missed")
        assert len(_audit(run, "sanction.imposed")) == len(_audit(run, "recheck.missed")) == 1
        assert await store.timers.timers_due("demo", (deadline + timedelta(days=400)).date(), 10) == []


def _z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def test_a_recheck_strong_enough_settles_the_request_and_a_weaker_one_does_not() -> None:
    async with running() as run:
        sid, _ = await run.guardian_token("settles")
        assert (await _recheck(run, sid)).status_code == 202
        weak = await run.start_check("settles", purpose="recheck")
        # Methods that can reach the request's level come first.
        assert weak["method"]["name"] != "self_declaration"
        typed = await run.evidence(weak["check_id"], {**TYPED, "birth_year": 2012})
        assert typed.json()["outcome"] == "passed"
        assert typed.json()["token"]["upper_level"] is None
        assert sid in await _due(run)  # a self-declaration cannot settle it
        assert (await _refresh(run, sid)).json()["recheck_reason"] == "reported_adult_posing_as_minor"

        strong = await run.start_check("settles", purpose="recheck")
        r = await run.evidence(strong["check_id"], {**GUARDIAN, "lower_bound": 13, "upper_bound": 15})
        assert r.json()["token"]["upper_level"] == "effective"
        out = (await _refresh(run, sid)).json()
        assert (out["recheck_reason"], out["recheck_due"], out["upper_level"]) == (None, False, "effective")
        assert sid not in await _due(run)
        (done,) = _audit(run, "recheck.completed")
        assert done["band"] == "13_15" and done["sid_hash"]
        assert await run.services.store.rechecks.get_recheck(sid) is None


async def test_asking_again_keeps_the_stricter_request() -> None:
    async with running() as run:
        sid, _ = await run.guardian_token("twice")
        first = (await _recheck(run, sid, min_level="highly_effective")).json()
        later = (PINNED + timedelta(days=20)).isoformat()
        second = (await _recheck(run, sid, min_level="basic", deadline=later)).json()
        assert (second["min_level"], second["deadline"]) == ("highly_effective", first["deadline"])


async def test_only_the_apps_own_subjects_can_be_asked_about(tmp_path: Path) -> None:
    async with running(two_clients_settings(tmp_path)) as run:
        sid, _ = await run.guardian_token("mine")
        r = await run.http.post(
            "/v1/subjects/recheck",
            json={"sid": sid, "reason": "moderator_request"},
            headers=bearer(OTHER_CLIENT_KEY),
        )
        assert (r.status_code, r.json()["code"]) == (404, "unknown_subject")
        assert await run.services.store.rechecks.get_recheck(sid) is None


@pytest.mark.parametrize(
    ("extra", "status", "code"),
    [
        ({"min_level": "platinum"}, 400, "unknown_level"),
        ({"deadline": "2026-03-01T00:00:00Z"}, 400, "invalid_deadline"),
        ({"deadline": "2026-06-01T00:00:00Z"}, 400, "invalid_deadline"),
        ({"deadline": "2026-03-12T00:00:00"}, 400, "invalid_deadline"),
        ({"reason": "dislike"}, 422, "validation_failed"),
        ({"min_level": "x" * 100}, 422, "validation_failed"),
    ],
)
async def test_bad_requests_get_a_precise_problem_and_store_nothing(
    extra: dict[str, Any], status: int, code: str
) -> None:
    async with running() as run:
        sid, _ = await run.guardian_token("bad")
        r = await _recheck(run, sid, **extra)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert await run.services.store.rechecks.get_recheck(sid) is None
    async with running() as run:
        r = await _recheck(run, "sid_" + "A" * 43)
        assert (r.status_code, r.json()["code"]) == (404, "unknown_subject")


async def test_the_app_hears_of_requests_and_their_completion_by_webhook(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, _, _), running(settings) as run:
        sid, _ = await run.guardian_token("hooked")
        assert (await _recheck(run, sid, reason="reported_minor_posing_as_adult")).status_code == 202
        check = await run.start_check("hooked", purpose="recheck")
        await run.evidence(check["check_id"], {**GUARDIAN, "lower_bound": 13, "upper_bound": 15})
        store = run.services.store
        await store.events.ensure_group("reviews")
        got = [json.loads(d.event.body) for d in await store.events.read_events("reviews", "t", 100, 0)]
        by_type = {e["type"]: e["data"] for e in got}
        assert by_type["subject.recheck_requested"] == {
            "sid": sid, "reason": "reported_minor_posing_as_adult", "min_level": "effective",
            "deadline": (PINNED + timedelta(days=7)).isoformat().replace("+00:00", "Z"),
        }  # fmt: skip
        assert by_type["subject.recheck_completed"] == {
            "sid": sid, "reason": "reported_minor_posing_as_adult", "band": "13_15", "level": "effective",
        }  # fmt: skip


async def test_erasure_and_revocation_remove_the_request() -> None:
    async with running() as run:
        sid, _ = await run.guardian_token("erased")
        assert (await _recheck(run, sid)).status_code == 202
        r = await run.http.post("/v1/subjects/erase", json={"sid": sid}, headers=AUTH)
        assert r.status_code == 200
        assert await run.services.store.rechecks.get_recheck(sid) is None
        sid, _ = await run.guardian_token("revoked")
        assert (await _recheck(run, sid)).status_code == 202
        assert (
            await run.http.post("/v1/subjects/revoke", json={"sid": sid}, headers=AUTH)
        ).status_code == 200
        assert await run.services.store.rechecks.get_recheck(sid) is None
