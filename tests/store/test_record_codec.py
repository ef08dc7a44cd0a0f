"""Packed assurance records: exact round trips, JSON where a record does not fit, JSON records
written before packing still read, strict on the way back, and small in Redis."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date

import pytest
import redis.asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from redis_server import delete_prefix, redis_url
from store_factories import CLIENT, make_record, random_sid

from service.store.codec import encode
from service.store.keys import Keys
from service.store.record_codec import WORDS, decode_record, encode_record
from service.store.records import AssuranceRecord
from service.store.redis import RedisStore

POLICY = "dd22d96d3b46064d"
names = st.one_of(st.sampled_from(WORDS), st.text(min_size=0, max_size=200))
days = st.dates(min_value=date(1970, 1, 1), max_value=date(2200, 1, 1))


@st.composite
def records(draw: st.DrawFn) -> AssuranceRecord:
    return AssuranceRecord(
        sid=random_sid(CLIENT),
        client_id=draw(st.one_of(st.just(CLIENT), st.text(min_size=1, max_size=200))),
        band=draw(names),
        level=draw(names),
        method=draw(names),
        jurisdiction=draw(names),
        assured_at=draw(days),
        recheck_at=draw(days),
        age_up_at=draw(st.one_of(st.none(), days)),
        policy_version=draw(st.one_of(st.just(POLICY), st.text(max_size=20))),
        generation=draw(st.integers(0, 70_000)),
        passed_generation=draw(st.integers(0, 70_000)),
        revoked_for=draw(st.one_of(st.none(), names)),
        upper_level=draw(st.one_of(st.none(), names)),
    )


@settings(deadline=None, max_examples=300)
@given(record=records())
def test_every_record_round_trips_packed_or_as_json(record: AssuranceRecord) -> None:
    stored = encode_record(record)
    assert stored.isascii() or stored.startswith("{")  # packed is ASCII; JSON may hold any text
    assert decode_record(stored, record.sid) == record
    assert decode_record(stored.encode(), record.sid) == record


def test_a_usual_record_packs_into_an_inline_redis_string() -> None:
    record = make_record(policy_version=POLICY, client_id="demo", jurisdiction="default")
    stored = encode_record(record)
    assert stored.startswith("2")
    assert len(stored) <= 44  # Redis keeps a string of up to 44 bytes inline with its header
    assert record.sid not in stored  # the key names the sid


def test_a_record_that_does_not_fit_is_json() -> None:
    for record in (
        make_record(policy_version="pol-3f2a"),
        make_record(policy_version=POLICY, generation=65_535),
        make_record(policy_version=POLICY, recheck_at=date(2150, 1, 1)),
        make_record(policy_version=POLICY, client_id="c" * 192),
    ):
        assert encode_record(record) == encode(record)
        assert decode_record(encode_record(record), record.sid) == record


def test_json_records_written_before_packing_still_read() -> None:
    record = make_record(policy_version=POLICY)
    assert decode_record(encode(record).encode(), record.sid) == record


@pytest.mark.parametrize("cut", [1, 5, 10, 20])
def test_damaged_packed_records_are_refused(cut: int) -> None:
    stored = encode_record(make_record(policy_version=POLICY))
    with pytest.raises(ValueError, match="AssuranceRecord"):
        decode_record(stored[:-cut], "sid_x")
    with pytest.raises(ValueError, match="AssuranceRecord"):
        decode_record(stored + "00000", "sid_x")  # five base85 digits: four trailing bytes
    with pytest.raises(ValueError, match="AssuranceRecord"):
        decode_record("2" + "\x7f" * 10, "sid_x")


@pytest.fixture
async def admin(prefix: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url())
    try:
        yield client
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()


@pytest.mark.anyio
@pytest.mark.redis
async def test_a_record_key_takes_at_most_200_bytes_and_has_a_ttl(
    admin: redis.asyncio.Redis, prefix: str
) -> None:
    store = RedisStore.from_url(redis_url(), prefix)
    try:
        for client_id in ("demo", "com.example.social-app"):
            record = make_record(policy_version=POLICY, client_id=client_id, jurisdiction="default")
            await store.records.put_record(record, ttl=3600)
            key = Keys(prefix).record(record.sid)
            assert await admin.memory_usage(key) <= 200
            assert 3590 < await admin.ttl(key) <= 3600
            assert await store.records.get_record(record.sid) == record
    finally:
        await store.close()


@pytest.mark.anyio
@pytest.mark.redis
async def test_a_json_record_from_before_packing_is_replaced_packed(
    admin: redis.asyncio.Redis, prefix: str
) -> None:
    store = RedisStore.from_url(redis_url(), prefix)
    try:
        old = make_record(policy_version=POLICY)
        key = Keys(prefix).record(old.sid)
        await admin.set(key, encode(old), ex=3600)  # as an earlier version wrote it
        assert await store.records.get_record(old.sid) == old
        new = make_record(sid=old.sid, policy_version=POLICY, generation=1)
        assert await store.records.replace_record(old, new, ttl=3600)  # compare-and-set sees the JSON
        assert (await admin.get(key)).startswith(b"2")
        assert await store.records.get_record(old.sid) == new
        assert not await store.records.replace_record(old, new, ttl=3600)  # and the packed one now
        assert json.loads(encode(new))["generation"] == 1
    finally:
        await store.close()
