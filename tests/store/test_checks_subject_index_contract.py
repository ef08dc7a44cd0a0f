"""The CheckStore contract: the per-sid index of checks, which erasure by sid relies on (every backend)."""

from __future__ import annotations

import pytest
from store_backends import Backend
from store_factories import NOW, make_check, random_sid

from service.store.keys import Keys
from service.store.roles import CheckStore

pytestmark = pytest.mark.anyio


async def test_tracked_checks_are_listed_per_sid(check_store: CheckStore) -> None:
    sid, other = random_sid(), random_sid()
    a, b, c = make_check(NOW, sid=sid), make_check(NOW, sid=sid), make_check(NOW, sid=other)
    for check in (a, b, c):
        await check_store.track_check(check.sid, check.check_id, ttl=900)
        await check_store.create_check(check, ttl=900)
    await check_store.track_check(sid, a.check_id, ttl=900)  # twice: listed once
    assert await check_store.subject_checks(sid) == sorted([a.check_id, b.check_id])
    assert await check_store.subject_checks(other) == [c.check_id]
    assert await check_store.subject_checks(random_sid()) == []


async def test_erase_checks_removes_the_checks_their_counters_and_the_index(backend: Backend) -> None:
    check_store, keys = backend.store.checks, Keys(backend.prefix)
    sid, other = random_sid(), random_sid()
    mine = [make_check(NOW, sid=sid) for _ in range(3)]
    theirs = make_check(NOW, sid=other)
    for check in (*mine, theirs):
        await check_store.track_check(check.sid, check.check_id, ttl=900)
        await check_store.create_check(check, ttl=900)
        assert await check_store.claim_attempt(check.check_id, limit=3, ttl=900) == 1
    gone = make_check(NOW, sid=sid)
    await check_store.track_check(sid, gone.check_id, ttl=900)  # indexed, never created (or expired)

    assert await check_store.erase_checks(sid) == 3
    left = set(await backend.raw_keys())
    for check in (*mine, gone):
        assert await check_store.get_check(check.check_id) is None
        assert keys.check(check.check_id) not in left and keys.attempts(check.check_id) not in left
    assert keys.subject_checks(sid) not in left
    assert await check_store.subject_checks(sid) == []
    assert await check_store.get_check(theirs.check_id) == theirs  # another subject's check stays
    assert await check_store.claim_attempt(theirs.check_id, limit=3, ttl=900) == 2
    assert await check_store.erase_checks(sid) == 0  # nothing left: still fine


async def test_the_index_lives_as_long_as_its_longest_check(backend: Backend) -> None:
    check_store, keys = backend.store.checks, Keys(backend.prefix)
    sid = random_sid()
    await check_store.track_check(sid, make_check(NOW, sid=sid).check_id, ttl=600)
    await check_store.track_check(sid, make_check(NOW, sid=sid).check_id, ttl=900)
    await check_store.track_check(sid, make_check(NOW, sid=sid).check_id, ttl=60)  # never shortens it
    ttl = (await backend.raw_keys())[keys.subject_checks(sid)]
    assert ttl is not None and 890 < ttl <= 900


async def test_track_check_needs_a_positive_ttl(check_store: CheckStore) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await check_store.track_check(random_sid(), make_check(NOW).check_id, ttl=0)
