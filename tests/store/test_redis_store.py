"""What only the Redis store has: connection failures, index clean-up, client options."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
import redis.asyncio
from redis_server import delete_prefix, free_port, redis_url
from store_factories import CLIENT, NOW, OTHER_CLIENT, make_check, make_record

from service.core.errors import Unavailable
from service.store.codec import day_score
from service.store.errors import StoreUnavailable
from service.store.keys import Keys
from service.store.redis import RedisStore

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

TODAY = NOW.date()


@pytest.fixture
async def admin(prefix: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url())
    try:
        yield client
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()


async def test_an_unreachable_server_is_store_unavailable() -> None:
    store = RedisStore.from_url(
        f"redis://127.0.0.1:{free_port()}/0?socket_connect_timeout=0.5", prefix="secretprefix"
    )
    record = make_record()
    calls: list[Callable[[], Awaitable[object]]] = [
        store.ping,
        lambda: store.checks.create_check(make_check(NOW), ttl=60),
        lambda: store.checks.update_check(make_check(NOW)),
        lambda: store.checks.claim_attempt("chk_x", limit=1, ttl=60),
        lambda: store.records.get_record(record.sid),
        lambda: store.records.put_record(record, ttl=60),
        lambda: store.records.delete_record(record.sid, CLIENT),
        lambda: store.records.due(CLIENT, TODAY, None, 10),
        lambda: store.revocations.revoke(record.sid, revoked_at=1, ttl=60),
        lambda: store.revocations.revoked_at(record.sid),
        lambda: store.once.use_once("nonce", ttl=60),
    ]
    try:
        for call in calls:
            with pytest.raises(StoreUnavailable) as info:
                await call()
            err = info.value
            assert isinstance(err, Unavailable)
            assert (err.status, err.code) == (503, "store_unavailable")
            assert "secretprefix" not in str(err)
            assert record.sid not in str(err)
            assert "127.0.0.1" not in str(err)
            assert err.__cause__ is None
            assert err.__suppress_context__
    finally:
        await store.close()


async def test_due_removes_entries_whose_record_is_gone(admin: redis.asyncio.Redis, prefix: str) -> None:
    store = RedisStore.from_url(redis_url(), prefix)
    try:
        records = [make_record(recheck_at=TODAY - timedelta(days=1)) for _ in range(6)]
        for record in records:
            await store.records.put_record(record, ttl=3600)
        for record in records[:4]:
            await store.records.delete_record(record.sid, OTHER_CLIENT)  # leaves the entry behind
        due_key = Keys(prefix).due(CLIENT)
        assert await admin.zcard(due_key) == 6
        page = await store.records.due(CLIENT, TODAY, None, 10)
        assert {e.sid for e in page.entries} == {r.sid for r in records[4:]}
        assert await admin.zcard(due_key) == 2
    finally:
        await store.close()


async def test_index_scores_are_recheck_days_and_the_index_has_the_longest_ttl(
    admin: redis.asyncio.Redis, prefix: str
) -> None:
    store = RedisStore.from_url(redis_url(), prefix)
    try:
        record = make_record()
        await store.records.put_record(record, ttl=7200)
        await store.records.put_record(make_record(), ttl=60)
        due_key = Keys(prefix).due(CLIENT)
        assert await admin.zscore(due_key, record.sid) == day_score(record.recheck_at)
        assert 7190 < await admin.ttl(due_key) <= 7200
    finally:
        await store.close()


async def test_a_client_that_decodes_responses_works_too(prefix: str) -> None:
    store = RedisStore(redis.asyncio.Redis.from_url(redis_url(), decode_responses=True), prefix)
    admin = redis.asyncio.Redis.from_url(redis_url())
    try:
        check = make_check(NOW)
        await store.checks.create_check(check, ttl=60)
        assert await store.checks.get_check(check.check_id) == check
        assert await store.checks.update_check(check)
        assert await store.checks.claim_attempt(check.check_id, limit=2, ttl=60) == 1
        record = make_record(recheck_at=TODAY - timedelta(days=1))
        await store.records.put_record(record, ttl=60)
        assert [e.sid for e in (await store.records.due(CLIENT, TODAY, None, 5)).entries] == [record.sid]
        await store.revocations.revoke(record.sid, revoked_at=5, ttl=60)
        assert await store.revocations.revoked_at(record.sid) == 5
    finally:
        await delete_prefix(admin, prefix)
        await store.close()
        await admin.aclose()
