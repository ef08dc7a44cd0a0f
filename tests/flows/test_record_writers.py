"""Writers of one subject's record (a passing check, a sanction's token revocation, an age-up)
never lose each other's changes: each stores by compare-and-set and rebuilds when it lost."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
import redis.asyncio
from factories import AUTH, Running, make_settings, running
from redis_server import delete_prefix, redis_url

from service.core.ids import derive_sid
from service.flows import abuse, lifecycle
from service.flows.records import write_record
from service.store.records import AssuranceRecord

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


async def minor(run: Running, subject: str) -> AssuranceRecord:
    """A 12-year-old's record whose age-up day has passed: the next refresh moves it up a band."""
    svc = run.services
    record = AssuranceRecord(
        sid=derive_sid(svc.pepper, "demo", subject), client_id="demo", band="under_13", level="basic",
        method="eid_oidc", jurisdiction="default", assured_at=date(2025, 3, 1),
        recheck_at=date(2026, 9, 1), age_up_at=date(2026, 3, 1), policy_version=svc.policy.current.version,
    )  # fmt: skip
    await svc.store.records.put_record(record, int(svc.policy.current.retention.total_seconds()))
    return record


async def test_an_age_up_built_on_a_stale_read_keeps_the_sanctions_revocation() -> None:
    """Refresh read the record, then a sanction voided the subject's tokens, then refresh aged
    the record up: the revocation must survive, and refresh must ask for a new check."""
    async with running(at=NOW) as run:
        svc = run.services
        read_by_refresh = await minor(run, "raced-by-a-sanction")
        await abuse._revoke_tokens(
            svc.checks.abuse, read_by_refresh.sid, "demo", int(NOW.timestamp()), "younger_band", stands=False
        )
        aged = await lifecycle.age_up(svc.worker.lifecycle, read_by_refresh)  # built on the stale read first
        stored = await svc.store.records.get_record(read_by_refresh.sid)
        assert stored == aged
        assert stored is not None and stored.band == "13_15"  # the age-up happened...
        assert (stored.generation, stored.revoked_for) == (1, "younger_band")  # ...and kept the bump
        assert abuse.tokens_voided(stored)
        r = await run.http.post("/v1/tokens/refresh", json={"sid": stored.sid}, headers=AUTH)
        assert r.status_code == 409 and r.json()["code"] == "recheck_required", r.text


@pytest.mark.redis
async def test_concurrent_generation_bumps_on_redis_are_all_kept() -> None:
    """Real interleaving (each store call awaits the network): six writers, six bumps."""
    prefix = f"rw{uuid.uuid4().hex[:8]}"
    store = {"backend": "redis", "redis_url": redis_url(), "prefix": prefix}
    admin = redis.asyncio.Redis.from_url(redis_url())
    try:
        async with running(make_settings(store=store), at=NOW) as run:
            svc = run.services
            record = await minor(run, "bumped-by-many")

            def bump(current: AssuranceRecord | None) -> AssuranceRecord | None:
                return None if current is None else replace(current, generation=current.generation + 1)

            async def one_writer() -> None:
                await write_record(
                    svc.worker.lifecycle.writing,
                    record.sid,
                    bump,
                    await svc.store.records.get_record(record.sid),
                )

            await asyncio.gather(*(one_writer() for _ in range(6)))
            stored = await svc.store.records.get_record(record.sid)
            assert stored is not None and stored.generation == 6
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()
