"""Appeals (a check with purpose: appeal), through the API with a pinned clock: only methods
stronger than the one that set the band are offered, the band holds meanwhile, a stronger method
moves it older and a weaker one cannot; the outcome is audited and sent by webhook."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import AUTH, PINNED, Running, running
from webhook_setup import webhook_env

pytestmark = pytest.mark.anyio

TYPED = {"method": "self_declaration"}
GUARDIAN = {"method": "os_signal", "source": "apple", "declaration": "guardian_declared"}
APPLE_TYPED_ADULT = {
    "method": "os_signal", "source": "apple", "declaration": "self_declared", "lower_bound": 18,
}  # fmt: skip
PLAY_VERIFIED_ADULT = {
    "method": "os_signal",
    "source": "google_play",
    "user_status": "VERIFIED",
    "age_lower": 18,
}


async def _self_declared(run: Running, subject: str, year: int) -> str:
    check = await run.start_check(subject)
    r = await run.evidence(check["check_id"], {**TYPED, "birth_year": year})
    assert r.json()["outcome"] == "passed", r.text
    return str(check["sid"])


async def _appeal(run: Running, subject: str) -> Any:
    return await run.http.post(
        "/v1/checks", json={"subject": subject, "jurisdiction": "default", "purpose": "appeal"}, headers=AUTH
    )


def _audit(run: Running, event: str) -> list[dict[str, Any]]:
    return [e for e in run.log_lines() if e.get("event") == event]


async def _band(run: Running, sid: str) -> tuple[str, str]:
    r = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()["band"], r.json()["level"]


async def test_an_appeal_with_a_stronger_method_moves_a_band_older_and_a_weaker_cannot() -> None:
    async with running() as run:
        sid = await _self_declared(run, "mistyped", 2012)  # an adult who typed the wrong year
        assert await _band(run, sid) == ("13_15", "basic")
        opened = await _appeal(run, "mistyped")
        assert opened.status_code == 201, opened.text
        body = opened.json()
        assert [m["name"] for m in body["methods"]] == ["os_signal"]  # self-declaration is not stronger
        deadline = PINNED + timedelta(days=14)
        assert body["appeal"]["deadline"].startswith(deadline.date().isoformat())
        assert deadline.date().isoformat() in body["appeal"]["message"]
        assert "stays as it is" in body["appeal"]["message"]
        check_id = body["check_id"]

        typed = await run.evidence(check_id, {**TYPED, "birth_year": 1990})
        assert (typed.status_code, typed.json()["code"]) == (409, "method_not_allowed")
        # A method the appeal offers, with evidence no stronger than what set the band: refused.
        weak = (await run.evidence(check_id, APPLE_TYPED_ADULT)).json()
        assert (weak["outcome"], weak["reason"], weak["token"]) == (
            "inconclusive",
            "band_upgrade_needs_level",
            None,
        )
        assert await _band(run, sid) == ("13_15", "basic")  # the band holds meanwhile
        assert _audit(run, "appeal.decided") == []

        strong = (await run.evidence(check_id, PLAY_VERIFIED_ADULT)).json()
        assert (strong["outcome"], strong["token"]["band"], strong["token"]["level"]) == (
            "passed", "18_plus", "effective",
        )  # fmt: skip
        assert await _band(run, sid) == ("18_plus", "effective")
        (opened_event,) = _audit(run, "appeal.opened")
        assert opened_event["band"] == "13_15" and opened_event["sid_hash"] and "sid" not in opened_event
        (decided,) = _audit(run, "appeal.decided")
        assert (decided["outcome"], decided["band_from"], decided["band_to"]) == (
            "granted",
            "13_15",
            "18_plus",
        )
        assert await run.services.store.appeals.get_appeal(sid) is None


async def test_an_appeal_that_confirms_the_band_upholds_it_and_one_that_fails_says_so() -> None:
    async with running() as run:
        sid = await _self_declared(run, "upheld", 2012)
        check = (await _appeal(run, "upheld")).json()
        r = await run.evidence(check["check_id"], {**GUARDIAN, "lower_bound": 13, "upper_bound": 15})
        assert r.json()["token"]["band"] == "13_15"
        (decided,) = _audit(run, "appeal.decided")
        assert (decided["outcome"], decided["band_to"]) == ("upheld", "13_15")

        sid = await _self_declared(run, "tries", 2012)
        check = (await _appeal(run, "tries")).json()
        for _ in range(3):  # os_signal's attempts in one check
            await run.evidence(check["check_id"], APPLE_TYPED_ADULT)
        failed = [e for e in _audit(run, "appeal.decided") if e["check_id"] == check["check_id"]]
        assert [(e["outcome"], e["band_to"]) for e in failed] == [("failed", "13_15")]
        assert await _band(run, sid) == ("13_15", "basic")


async def test_a_band_set_by_a_method_nothing_here_beats_cannot_be_appealed() -> None:
    async with running() as run:
        sid, _ = await run.guardian_token("vouched")  # effective; only credentials and eIDs are stronger
        r = await _appeal(run, "vouched")
        assert (r.status_code, r.json()["code"]) == (409, "appeal_not_available")
        assert await run.services.store.appeals.get_appeal(sid) is None
        nobody = await _appeal(run, "never-checked")
        assert (nobody.status_code, nobody.json()["code"]) == (404, "unknown_subject")


async def test_the_app_hears_of_the_appeal_and_its_outcome_by_webhook(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, _, _), running(settings) as run:
        sid = await _self_declared(run, "hooked", 2012)
        check = (await _appeal(run, "hooked")).json()
        await run.evidence(check["check_id"], PLAY_VERIFIED_ADULT)
        store = run.services.store
        await store.events.ensure_group("appeals")
        got = [json.loads(d.event.body) for d in await store.events.read_events("appeals", "t", 100, 0)]
        by_type = {e["type"]: e["data"] for e in got}
        deadline = (PINNED + timedelta(days=14)).isoformat().replace("+00:00", "Z")
        assert by_type["appeal.opened"] == {
            "sid": sid, "check_id": check["check_id"], "band": "13_15", "deadline": deadline,
        }  # fmt: skip
        assert by_type["appeal.decided"] == {
            "sid": sid, "check_id": check["check_id"], "outcome": "granted", "band_from": "13_15",
            "band": "18_plus",
        }  # fmt: skip


async def test_erasure_removes_an_open_appeal() -> None:
    async with running() as run:
        sid = await _self_declared(run, "gone", 2012)
        assert (await _appeal(run, "gone")).status_code == 201
        assert await run.services.store.appeals.get_appeal(sid) is not None
        assert (await run.http.post("/v1/subjects/erase", json={"sid": sid}, headers=AUTH)).status_code == 200
        assert await run.services.store.appeals.get_appeal(sid) is None
