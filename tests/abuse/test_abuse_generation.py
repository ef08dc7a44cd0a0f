"""Revoking every outstanding token, for as long as the record lives: a sanction that revokes
moves the record's ``generation`` past ``passed_generation``. Until a new check passes, refresh
answers 409 ``recheck_required`` and introspection refuses the record's tokens, after a short
lock has ended and after the revocation marker's TTL has passed. Run on the memory store and on
a real Redis, with the app's revoke and erase endpoints alongside."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis.asyncio
from factories import AUTH, Running, make_settings, running, write_policy
from redis_server import delete_prefix, redis_url

from service.settings import Settings

pytestmark = pytest.mark.anyio
BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]
ADULT = {"method": "self_declaration", "birth_year": 1990}
SUPERVISED_13_17 = {
    "method": "os_signal",
    "source": "google_play",
    "user_status": "SUPERVISED",
    "age_lower": 13,
    "age_upper": 17,
}
# An inconclusive OS range steps up to the next method, so a declared adult birth year after it
# contradicts it: inconsistent_signals, which revokes every token. Its lock lasts two seconds.
POLICY = {
    "    on_inconclusive: youngest\n    description:\n      en: The age range": (
        "    description:\n      en: The age range"
    ),
    "        inconsistent_signals:\n          lock: PT1H\n": (
        "        inconsistent_signals:\n          lock: PT2S\n"
    ),
}  # fmt: skip
SHORT = 2  # seconds: the lock above, and the revocation marker's TTL in these tests


@asynccontextmanager
async def app_on(backend: str, tmp_path: Path) -> AsyncIterator[Running]:
    """The app on the store ``backend``, under the policy above, with revocation markers that last
    ``SHORT`` seconds instead of outliving every token (so a token can outlive its marker)."""
    overrides: dict[str, Any] = {"policy_path": write_policy(tmp_path, replace=POLICY)}
    prefix = f"g{uuid.uuid4().hex[:12]}"
    if backend == "redis":
        overrides["store"] = {"backend": "redis", "redis_url": redis_url(), "prefix": prefix}
    settings: Settings = make_settings(**overrides)
    try:
        async with running(settings) as run:
            run.app.state.services = dataclasses.replace(run.services, revocation_ttl=SHORT)
            yield run
    finally:
        if backend == "redis":
            admin = redis.asyncio.Redis.from_url(redis_url())
            await delete_prefix(admin, prefix)
            await admin.aclose()


async def introspect(run: Running, token: str) -> bool:
    r = await run.http.post("/v1/tokens/introspect", json={"token": token}, headers=AUTH)
    assert r.status_code == 200, r.text
    return bool(r.json()["active"])


async def refresh(run: Running, sid: str) -> Any:
    return await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)


async def sanctioned(run: Running, subject: str) -> tuple[str, str]:
    """An adult token, then a re-check with contradictory signals: (sid, the earlier token)."""
    sid, token = await run.adult_token(subject)
    run.clock.advance(timedelta(seconds=5))
    check = await run.start_check(subject, purpose="recheck")
    r = await run.evidence(check["check_id"], SUPERVISED_13_17)
    assert r.json()["outcome"] == "inconclusive", r.text
    r = await run.evidence(check["check_id"], ADULT)
    assert (r.json()["outcome"], r.json()["sanction"]) == ("failed", "inconsistent_signals"), r.text
    return sid, token


async def after_lock_and_marker(run: Running, sid: str) -> None:
    """Past the lock on the pinned clock; on Redis also in real time, until the sanction and the
    revocation marker have left the store (their TTLs run in Redis's own time)."""
    run.clock.advance(timedelta(seconds=SHORT + 1))
    store = run.services.store
    for _ in range((SHORT + 5) * 10):
        if await store.revoked_at(sid) is None and await store.get_sanction(sid) is None:
            break
        await anyio.sleep(0.1)
    else:
        raise AssertionError("the sanction or the revocation marker outlived its TTL")


@pytest.mark.parametrize("backend", BACKENDS)
async def test_tokens_stay_revoked_after_a_short_lock_and_the_marker_until_a_new_check_passes(
    backend: str, tmp_path: Path
) -> None:
    async with app_on(backend, tmp_path) as run:
        sid, old = await sanctioned(run, "voided")
        record = await run.services.store.get_record(sid)
        assert record is not None
        assert (record.generation, record.passed_generation) == (1, 0)
        assert record.revoked_for == "inconsistent_signals"
        assert not await introspect(run, old)
        r = await refresh(run, sid)
        assert (r.status_code, r.json()["code"]) == (429, "subject_locked"), r.text

        await after_lock_and_marker(run, sid)
        # Nothing of the sanction is left in the store but the record's generation, and the old
        # token has not expired: without the generation it would be active again.
        assert not await introspect(run, old)
        r = await refresh(run, sid)
        body = r.json()
        assert (r.status_code, body["code"]) == (409, "recheck_required"), r.text
        assert body["reason"] == "inconsistent_signals"
        assert "contradict each other" in body["consequence"]  # the policy's message for the user
        assert body["check_id"] and body["methods"]
        # As often as it is asked: refresh never issues from the voided record.
        assert (await refresh(run, sid)).json()["code"] == "recheck_required"

        # The new check refresh started passes: the record catches up, and refresh works again.
        r = await run.evidence(body["check_id"], ADULT)
        assert r.json()["outcome"] == "passed", r.text
        new = r.json()["token"]["token"]
        record = await run.services.store.get_record(sid)
        assert record is not None
        assert (record.generation, record.passed_generation) == (1, 1)
        assert await introspect(run, new)
        r = await refresh(run, sid)
        assert (r.status_code, r.json()["band"]) == (200, "18_plus"), r.text
        assert await introspect(run, r.json()["token"])


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_younger_band_revokes_earlier_tokens_but_the_check_that_found_it_stands(
    backend: str, tmp_path: Path
) -> None:
    """younger_band revokes without a lock, brought on by a passing check: that check's record is
    the new truth, so its token is active and refresh issues at once; the earlier token is void."""
    async with app_on(backend, tmp_path) as run:
        first = await run.start_check("younger")
        older = {"method": "os_signal", "source": "ab1043", "bracket": "16_17"}
        passed = (await run.evidence(first["check_id"], older)).json()
        sid, old = first["sid"], passed["token"]["token"]
        run.clock.advance(timedelta(seconds=5))
        check = await run.start_check("younger", purpose="recheck")
        bracket = {"method": "os_signal", "source": "ab1043", "bracket": "13_15"}
        r = await run.evidence(check["check_id"], bracket)
        body = r.json()
        assert (body["outcome"], body["sanction"]) == ("passed", "younger_band"), r.text
        record = await run.services.store.get_record(sid)
        assert record is not None
        assert record.generation == record.passed_generation == 1
        assert not await introspect(run, old)
        assert await introspect(run, body["token"]["token"])
        r = await refresh(run, sid)
        assert (r.status_code, r.json()["band"]) == (200, "13_15"), r.text


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("endpoint", ["revoke", "erase"])
async def test_revoke_and_erase_of_a_revoked_subject_leave_nothing_to_refresh_from(
    backend: str, endpoint: str, tmp_path: Path
) -> None:
    """The app revokes or erases a subject whose tokens a sanction voided: the record goes, so
    refresh knows no subject and the old token stays inactive; a new check starts afresh at
    generation 0, and its record gives tokens again."""
    async with app_on(backend, tmp_path) as run:
        sid, old = await sanctioned(run, f"gone-{endpoint}")
        r = await run.http.post(f"/v1/subjects/{endpoint}", json={"sid": sid}, headers=AUTH)
        assert r.status_code == 200, r.text
        assert await run.services.store.get_record(sid) is None
        if endpoint == "revoke":  # revocation keeps the sanction; erasure removes it with the rest
            assert await run.services.store.get_sanction(sid) is not None
        else:
            assert await run.services.store.get_sanction(sid) is None
        await after_lock_and_marker(run, sid)
        assert not await introspect(run, old)
        r = await refresh(run, sid)
        assert (r.status_code, r.json()["code"]) == (404, "unknown_subject"), r.text

        again, token = await run.adult_token(f"gone-{endpoint}")
        assert again == sid
        record = await run.services.store.get_record(sid)
        assert record is not None
        assert (record.generation, record.passed_generation, record.revoked_for) == (0, 0, None)
        assert await introspect(run, token)
        assert (await refresh(run, sid)).status_code == 200
