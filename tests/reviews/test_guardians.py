"""Guardian confirmation through the API with a pinned clock: a guardian whose own record is an
adult's at the policy's level confirms a self-declared child's band with the child's one-time
code; only a keyed link is stored, never who the guardian is, and erasure of either side
removes it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import AUTH, OTHER_CLIENT_KEY, PINNED, Running, bearer, running, two_clients_settings
from webhook_setup import webhook_env

pytestmark = pytest.mark.anyio

TYPED = {"method": "self_declaration"}
PLAY_VERIFIED_ADULT = {
    "method": "os_signal",
    "source": "google_play",
    "user_status": "VERIFIED",
    "age_lower": 18,
}


async def _checked(run: Running, subject: str, evidence: dict[str, Any]) -> str:
    check = await run.start_check(subject)
    r = await run.evidence(check["check_id"], evidence)
    assert r.json()["outcome"] == "passed", r.text
    return str(check["sid"])


async def _code(run: Running, sid: str, headers: dict[str, str] = AUTH) -> Any:
    return await run.http.post("/v1/guardians/codes", json={"sid": sid}, headers=headers)


async def _confirm(run: Running, guardian_sid: str, code: str, headers: dict[str, str] = AUTH) -> Any:
    return await run.http.post(
        "/v1/guardians/confirm", json={"sid": guardian_sid, "code": code}, headers=headers
    )


async def _decide(run: Running, actor: str, target: str) -> dict[str, Any]:
    body = {
        "jurisdiction": "default",
        "action": "message.send",
        "actor": {"token": actor},
        "target": {"token": target},
    }
    r = await run.http.post("/v1/decisions", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def _token(run: Running, sid: str) -> dict[str, Any]:
    r = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _audit(run: Running, event: str) -> list[dict[str, Any]]:
    return [e for e in run.log_lines() if e.get("event") == event]


async def test_a_guardians_confirmation_makes_a_self_declared_11_year_olds_band_confirmed() -> None:
    async with running() as run:
        child = await _checked(run, "eleven", {**TYPED, "birth_year": 2015})  # 11 at the pinned date
        friend = await _checked(run, "friend", {**TYPED, "birth_year": 2015})
        parent = await _checked(run, "parent", PLAY_VERIFIED_ADULT)
        before = await _token(run, child)
        assert (before["band"], before["upper_level"]) == ("under_13", None)

        issued = await _code(run, child)
        assert issued.status_code == 201, issued.text
        code = issued.json()["code"]
        assert len(code.replace("-", "")) == 10
        assert issued.json()["expires_at"].startswith((PINNED + timedelta(minutes=30)).isoformat()[:16])
        done = await _confirm(run, parent, code.lower().replace("-", " "))  # as a parent may type it
        assert done.status_code == 200, done.text
        assert done.json() == {"sid": child, "band": "under_13", "upper_level": "effective"}
        after = await _token(run, child)
        assert (after["band"], after["upper_level"]) == ("under_13", "effective")
        # Confirmed now: a confirmed child may message it, once its own band is confirmed too.
        other = await _code(run, friend)
        assert (await _confirm(run, parent, other.json()["code"])).status_code == 200
        allowed = await _decide(run, (await _token(run, friend))["token"], after["token"])
        assert allowed["allowed"] is True, allowed
        # The code is spent.
        again = await _confirm(run, parent, code)
        assert (again.status_code, again.json()["code"]) == (400, "invalid_guardian_code")
        events = _audit(run, "guardian.confirmed")
        assert [(bool(e["sid_hash"]), e["band"], e["level_name"]) for e in events] == [
            (True, "under_13", "effective"), (True, "under_13", "effective"),
        ]  # fmt: skip
        assert all(parent not in json.dumps(e) for e in run.log_lines() if e["event"].startswith("guardian."))


async def test_a_later_passing_check_keeps_a_confirmation_that_still_holds() -> None:
    async with running() as run:
        child = await _checked(run, "eleven", {**TYPED, "birth_year": 2015})
        parent = await _checked(run, "parent", PLAY_VERIFIED_ADULT)
        assert (await _confirm(run, parent, (await _code(run, child)).json()["code"])).status_code == 200
        # The scheduled re-check, by the child's own word again: it alone confirms no upper edge,
        # yet the guardian's confirmation of the same band stands.
        run.clock.advance(timedelta(days=91))
        check = await run.start_check("eleven", purpose="recheck")
        r = await run.evidence(check["check_id"], {**TYPED, "birth_year": 2015})
        assert r.status_code == 200, r.text
        passed = r.json()
        assert passed["outcome"] == "passed", passed
        assert (passed["token"]["band"], passed["token"]["upper_level"]) == ("under_13", "effective")
        record = await run.services.store.records.get_record(child)
        assert record is not None and (record.band, record.upper_level) == ("under_13", "effective")
        # Once the guardian is erased the link no longer holds: the next check goes by its evidence.
        erased = await run.http.post("/v1/subjects/erase", json={"sid": parent}, headers=AUTH)
        assert erased.status_code == 200
        check = await run.start_check("eleven")
        r = await run.evidence(check["check_id"], {**TYPED, "birth_year": 2015})
        assert (r.json()["outcome"], r.json()["token"]["upper_level"]) == ("passed", None)


async def test_only_an_adult_at_the_policys_level_can_confirm() -> None:
    async with running() as run:
        child = await _checked(run, "kid", {**TYPED, "birth_year": 2015})
        typed_adult = await _checked(run, "typed-adult", {**TYPED, "birth_year": 1980})  # basic
        teen = await _checked(run, "teen", {**TYPED, "birth_year": 2009})
        code = (await _code(run, child)).json()["code"]
        for guardian in (typed_adult, teen):
            r = await _confirm(run, guardian, code)
            assert (r.status_code, r.json()["code"], r.json()["min_level"]) == (
                403,
                "guardian_not_eligible",
                "effective",
            )
        parent = await _checked(run, "parent", PLAY_VERIFIED_ADULT)
        assert (await _confirm(run, parent, code)).status_code == 200  # the code was not spent by them
        adult_code = await _code(run, parent)
        assert (adult_code.status_code, adult_code.json()["code"]) == (409, "guardian_not_available")


async def test_codes_expire_and_belong_to_one_app(tmp_path: Path) -> None:
    async with running(two_clients_settings(tmp_path)) as run:
        child = await _checked(run, "kid", {**TYPED, "birth_year": 2015})
        parent = await _checked(run, "parent", PLAY_VERIFIED_ADULT)
        code = (await _code(run, child)).json()["code"]
        # Another app's adult: its own sid for its own user, and the code is not its app's.
        other = await run.http.post(
            "/v1/checks", json={"subject": "p2", "jurisdiction": "default"}, headers=bearer(OTHER_CLIENT_KEY)
        )
        r = await run.evidence(other.json()["check_id"], PLAY_VERIFIED_ADULT, bearer(OTHER_CLIENT_KEY))
        assert r.json()["outcome"] == "passed"
        foreign = await _confirm(run, other.json()["sid"], code, bearer(OTHER_CLIENT_KEY))
        assert (foreign.status_code, foreign.json()["code"]) == (400, "invalid_guardian_code")
        run.clock.advance(timedelta(minutes=31))
        late = await _confirm(run, parent, code)
        assert (late.status_code, late.json()["code"]) == (400, "invalid_guardian_code")
        assert (await _token(run, child))["upper_level"] is None


async def test_one_guardian_confirms_at_most_the_policys_number_of_children() -> None:
    async with running() as run:
        parent = await _checked(run, "parent", PLAY_VERIFIED_ADULT)
        for n in range(6):
            kid = await _checked(run, f"kid-{n}", {**TYPED, "birth_year": 2015})
            assert (await _confirm(run, parent, (await _code(run, kid)).json()["code"])).status_code == 200
        seventh = await _checked(run, "kid-6", {**TYPED, "birth_year": 2015})
        r = await _confirm(run, parent, (await _code(run, seventh)).json()["code"])
        assert (r.status_code, r.json()["code"]) == (409, "guardian_limit_reached")


async def test_only_a_keyed_link_is_stored_and_erasure_of_either_side_removes_it() -> None:
    async with running() as run:
        store = run.services.store
        child = await _checked(run, "kid", {**TYPED, "birth_year": 2015})
        parent = await _checked(run, "parent", PLAY_VERIFIED_ADULT)
        await _confirm(run, parent, (await _code(run, child)).json()["code"])
        links = await store.guardians.live_links(child)
        assert len(links) == 1 and await store.guardians.live_links(parent) == links
        link_keys = [k for k in store.contents() if ":gln:{" in k]
        assert len(link_keys) == 1 and child not in link_keys[0] and parent not in link_keys[0]
        # No key of a subject names both: who the guardian is is not kept beside the child (the
        # app-wide indexes, due list and timers, list every subject of the app alike).
        for key, value in store.contents().items():
            if any(part in key for part in (":due:", ":tmr:", ":evt:")):
                continue
            entry = key + json.dumps(value, default=str)
            assert not (child in entry and parent in entry), key
        r = await run.http.post("/v1/subjects/erase", json={"sid": parent}, headers=AUTH)
        assert r.status_code == 200
        assert await store.guardians.live_links(child) == []
        assert not [k for k in store.contents() if ":gln:{" in k]  # the link itself is gone
        # Of the guardian, only the revocation marker stays, until its short TTL (as for any erasure).
        assert [k for k in store.contents() if parent in k] == [f"ageband:sub:{{{parent}}}:rev"]
        # The child's confirmation stands; a new guardian can link again, and the child's erasure
        # removes that link too.
        other = await _checked(run, "other-parent", PLAY_VERIFIED_ADULT)
        await _confirm(run, other, (await _code(run, child)).json()["code"])
        await run.http.post("/v1/subjects/erase", json={"sid": child}, headers=AUTH)
        assert await store.guardians.live_links(other) == []


async def test_the_app_hears_of_the_confirmation_by_webhook_naming_the_child_only(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, _, _), running(settings) as run:
        child = await _checked(run, "kid", {**TYPED, "birth_year": 2015})
        parent = await _checked(run, "parent", PLAY_VERIFIED_ADULT)
        await _confirm(run, parent, (await _code(run, child)).json()["code"])
        store = run.services.store
        await store.events.ensure_group("guardians")
        got = [json.loads(d.event.body) for d in await store.events.read_events("guardians", "t", 100, 0)]
        (event,) = [e for e in got if e["type"] == "subject.guardian_confirmed"]
        assert event["data"] == {"sid": child, "band": "under_13", "upper_level": "effective"}
