"""Retention set by the policy, and erasure: every key of the subject goes, audited without its sid."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import redis.asyncio
from factories import AUTH, make_settings, running
from privacy_store import mentions
from redis_server import delete_prefix, redis_url
from webhook_setup import webhook_env

from service.audit.events import sid_ref
from service.policy.loader import load_policy
from service.store.keys import Keys


@pytest.mark.anyio
@pytest.mark.redis
async def test_record_ttl_is_the_policy_retention_and_erasure_leaves_only_a_timestamp() -> None:
    url, prefix = redis_url(), f"era{uuid.uuid4().hex[:8]}"
    settings = make_settings(store={"backend": "redis", "redis_url": url, "prefix": prefix})
    retention = int(load_policy(settings.policy_path).retention.total_seconds())
    keys = Keys(prefix)
    admin = redis.asyncio.Redis.from_url(url)
    try:
        async with running(settings) as run:
            sid, _ = await run.adult_token("frank")
            assert await admin.ttl(keys.record(sid)) == retention
            assert await admin.zscore(keys.due("demo"), sid) is not None
            before = len(run.logs.getvalue())
            r = await run.http.post("/v1/subjects/erase", json={"sid": sid}, headers=AUTH)
            assert r.status_code == 200
            erase_logs = run.logs.getvalue()[before:]
            pepper = run.services.pepper
            remaining = await mentions(admin, prefix, sid)
        # The revocation marker must outlive the record to void tokens already issued: it holds a
        # timestamp and nothing else, for the token lifetime plus leeway. Everything else, the
        # passed check and its attempt counter included, is gone.
        marker = remaining.pop(keys.revoked(sid))
        assert marker[0].isdigit() and 0 < marker[1] <= run.services.removal.revocation_ttl
        assert remaining == {}, sorted(remaining)
        assert sid not in erase_logs
        assert sid_ref(pepper, sid) in erase_logs and '"subject.erased"' in erase_logs
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()


@pytest.mark.anyio
@pytest.mark.redis
@pytest.mark.parametrize("by", ["sid", "subject"])
async def test_erasure_removes_open_and_just_finished_checks(by: str) -> None:
    url, prefix = redis_url(), f"era{uuid.uuid4().hex[:8]}"
    settings = make_settings(store={"backend": "redis", "redis_url": url, "prefix": prefix})
    keys = Keys(prefix)
    admin = redis.asyncio.Redis.from_url(url)
    try:
        async with running(settings) as run:
            # A user who never finished: one check failed on bad evidence (an attempt spent),
            # one still open. No record exists, yet the checks name the sid for 15 minutes.
            first = await run.start_check("grace")
            r = await run.evidence(first["check_id"], {"method": "self_declaration", "birth_year": "?"})
            assert r.status_code == 422, r.text
            second = await run.start_check("grace")
            sid = first["sid"]
            assert await admin.exists(keys.attempts(first["check_id"]), keys.check(second["check_id"])) == 2
            assert set(await mentions(admin, prefix, sid)) >= {
                keys.check(first["check_id"]), keys.check(second["check_id"]), keys.subject_checks(sid),
            }  # fmt: skip
            # Another subject's open check is not touched.
            bystander = await run.start_check("henry")
            ref = {"sid": sid} if by == "sid" else {"subject": "grace"}
            r = await run.http.post("/v1/subjects/erase", json=ref, headers=AUTH)
            assert r.status_code == 200, r.text
            remaining = await mentions(admin, prefix, sid)
            marker = remaining.pop(keys.revoked(sid))
            assert marker[0].isdigit() and 0 < marker[1] <= run.services.removal.revocation_ttl
            assert remaining == {}, sorted(remaining)
            assert await admin.exists(keys.attempts(first["check_id"])) == 0
            erased = [e for e in run.log_lines() if e.get("event") == "subject.erased"]
            # Audited by sid_ref only: no sid, and no sid_hash tying it to the subject's earlier events.
            assert [(e["count"], e["sid_hash"]) for e in erased] == [(2, None)]
            assert sid not in json.dumps(erased)
            # The erased check is unknown now; the bystander's goes on.
            r = await run.evidence(second["check_id"], {"method": "self_declaration", "birth_year": 1990})
            assert r.status_code == 404 and r.json()["code"] == "unknown_check", r.text
            assert (
                await run.http.get(f"/v1/checks/{bystander['check_id']}", headers=AUTH)
            ).status_code == 200
            # Nothing left to erase: erasing again is no error, and says so.
            r = await run.http.post("/v1/subjects/erase", json=ref, headers=AUTH)
            assert (r.status_code, r.json()) == (200, {"erased": True, "found": False})
            assert (await mentions(admin, prefix, sid)).keys() == {keys.revoked(sid)}
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()


@pytest.mark.anyio
@pytest.mark.redis
async def test_erasure_by_subject_sweeps_abuse_counters_that_outlive_the_checks() -> None:
    url, prefix = redis_url(), f"era{uuid.uuid4().hex[:8]}"
    settings = make_settings(store={"backend": "redis", "redis_url": url, "prefix": prefix})
    keys = Keys(prefix)
    admin = redis.asyncio.Redis.from_url(url)
    try:
        async with running(settings) as run:
            # A failed attempt: the abuse counters name the sid for an hour, the check for 15 min.
            check = await run.start_check("ivy")
            sid = check["sid"]
            r = await run.evidence(check["check_id"], {"method": "os_signal", "source": "google_play",
                                                       "user_status": "UNKNOWN"})  # fmt: skip
            assert r.json()["reason"] == "signal_unavailable", r.text
            # The check's keys reach their TTL; the counters do not yet.
            await admin.delete(
                keys.check(check["check_id"]), keys.attempts(check["check_id"]), keys.subject_checks(sid)
            )
            counters = await mentions(admin, prefix, sid)
            assert counters and all(":abz:" in k or ":abs:" in k for k in counters), sorted(counters)
            # A bare sid with nothing of the client's left may be anyone's: nothing is touched.
            r = await run.http.post("/v1/subjects/erase", json={"sid": sid}, headers=AUTH)
            assert (r.status_code, r.json()) == (200, {"erased": True, "found": False})
            assert await mentions(admin, prefix, sid) == counters
            # The app's own reference proves the sid is its user's: everything left goes.
            r = await run.http.post("/v1/subjects/erase", json={"subject": "ivy"}, headers=AUTH)
            assert (r.status_code, r.json()) == (200, {"erased": True, "found": False})
            assert await mentions(admin, prefix, sid) == {}
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()


@pytest.mark.anyio
@pytest.mark.redis
async def test_erasure_withdraws_undelivered_webhook_events_naming_the_sid(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, _, prefix):
        keys = Keys(prefix)
        admin = redis.asyncio.Redis.from_url(redis_url())
        try:
            async with running(settings) as run:
                # No worker runs: each passed check's check.completed event waits on the stream.
                sid, _ = await run.adult_token("ivy")
                bystander, _ = await run.adult_token("jack")
                assert keys.events() in await mentions(admin, prefix, sid)
                before = len(run.logs.getvalue())
                r = await run.http.post("/v1/subjects/erase", json={"sid": sid}, headers=AUTH)
                assert r.status_code == 200, r.text
                erased = [json.loads(line) for line in run.logs.getvalue()[before:].splitlines()]
                remaining = await mentions(admin, prefix, sid)
                still_queued = await mentions(admin, prefix, bystander)
            remaining.pop(keys.revoked(sid))
            assert remaining == {}, sorted(remaining)
            assert keys.events() in still_queued  # another subject's event is untouched
            (event,) = [e for e in erased if e["event"] == "subject.erased"]
            assert event["events"] == 1 and sid not in json.dumps(erased)
        finally:
            await admin.aclose()
