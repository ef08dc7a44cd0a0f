"""What only the memory store can show: TTLs measured on a clock we move."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from store_factories import NOW, make_check, make_record

from service.core.clock import FixedClock
from service.store.memory import MemoryStore

pytestmark = pytest.mark.anyio


async def test_update_check_keeps_the_remaining_ttl(clock: FixedClock) -> None:
    store = MemoryStore(clock)
    check = make_check(NOW)
    await store.checks.create_check(check, ttl=900)
    clock.advance(timedelta(seconds=600))
    assert await store.checks.update_check(check)
    ((_, expires_at),) = store.keys_with_expiry()
    assert expires_at == NOW + timedelta(seconds=900)
    clock.advance(timedelta(seconds=300))
    assert await store.checks.get_check(check.check_id) is None


async def test_the_due_index_lives_as_long_as_its_longest_record(clock: FixedClock) -> None:
    store = MemoryStore(clock, prefix="p")
    await store.records.put_record(make_record(recheck_at=date(2026, 2, 1)), ttl=3600)
    await store.records.put_record(make_record(recheck_at=date(2026, 2, 2)), ttl=60)
    expiry = dict(store.keys_with_expiry())
    assert expiry["p:due:{acme-app}"] == NOW + timedelta(seconds=3600)


async def test_keys_with_expiry_lists_live_keys_only(clock: FixedClock) -> None:
    store = MemoryStore(clock, prefix="p")
    await store.once.use_once("a", ttl=10)
    await store.once.use_once("b", ttl=20)
    clock.advance(timedelta(seconds=10))
    assert [at for _, at in store.keys_with_expiry()] == [NOW + timedelta(seconds=20)]


async def test_a_read_record_is_the_readers_own(clock: FixedClock) -> None:
    """Reads are served from decoded fields: changing one reader's record changes no other read."""
    store = MemoryStore(clock)
    record = make_record()
    await store.records.put_record(record, ttl=3600)
    reads = [await store.records.get_record(record.sid) for _ in range(3)]  # a decode, then cache hits
    for changed in reads[:2]:
        assert changed is not None
        changed.band, changed.generation = "changed", 99
    assert reads[2] == record
    assert len({id(r) for r in reads}) == 3


async def test_expired_keys_nobody_reads_again_are_swept(clock: FixedClock) -> None:
    """Like Redis's active expiry: abandoned keys do not stay for the life of the process."""
    store = MemoryStore(clock)
    for i in range(3000):
        assert await store.once.use_once(f"abandoned-{i}", ttl=10)
    assert store.key_count() == 3000  # nothing has expired: nothing is dropped
    clock.advance(timedelta(seconds=11))
    for i in range(3000):
        assert await store.once.use_once(f"fresh-{i}", ttl=3600)
    assert store.key_count() == 3000  # the abandoned keys went without being read again
    assert await store.once.use_once("fresh-0", ttl=3600) is False  # live keys stay
