"""The CounterStore contract: fixed-window abuse counters and distinct sets (every backend)."""

from __future__ import annotations

import asyncio

import pytest
from store_backends import Backend
from store_factories import (
    NOW,
    random_sid,
)

from service.store.roles import (
    CounterStore,
)

pytestmark = pytest.mark.anyio

TODAY = NOW.date()


async def test_count_hit_counts_per_scope_and_subject(counter_store: CounterStore) -> None:
    sid, other = random_sid(), random_sid()
    assert [await counter_store.count_hit("attempts", sid, ttl=600) for _ in range(3)] == [1, 2, 3]
    assert await counter_store.count_hit("failures", sid, ttl=600) == 1
    assert await counter_store.count_hit("attempts", other, ttl=600) == 1


async def test_peek_count_reads_without_counting(counter_store: CounterStore) -> None:
    sid = random_sid()
    assert await counter_store.peek_count("failures", sid) == 0
    await counter_store.count_hit("failures", sid, ttl=600)
    assert await counter_store.peek_count("failures", sid) == 1
    assert await counter_store.peek_count("failures", sid) == 1


async def test_count_hit_window_is_fixed_from_the_first_hit(backend: Backend) -> None:
    sid = random_sid()
    await backend.store.counters.count_hit("attempts", sid, ttl=600)
    await backend.store.counters.count_hit("attempts", sid, ttl=6000)  # a later, longer window: not extended
    (ttl,) = (await backend.raw_keys()).values()
    assert ttl is not None
    assert 590 < ttl <= 600


async def test_concurrent_hits_are_all_counted(counter_store: CounterStore) -> None:
    sid = random_sid()
    counts = await asyncio.gather(*(counter_store.count_hit("attempts", sid, ttl=600) for _ in range(40)))
    assert sorted(counts) == list(range(1, 41))


async def test_add_distinct_counts_members_once(counter_store: CounterStore) -> None:
    sid = random_sid()
    assert await counter_store.add_distinct("shopping", sid, "os_signal", ttl=600) == 1
    assert await counter_store.add_distinct("shopping", sid, "os_signal", ttl=600) == 1
    assert await counter_store.add_distinct("shopping", sid, "self_declaration", ttl=600) == 2
    await counter_store.clear_counters(sid, ["shopping"])
    assert await counter_store.add_distinct("shopping", sid, "os_signal", ttl=600) == 1


async def test_clear_counters_forgets_only_the_named_scopes(counter_store: CounterStore) -> None:
    sid = random_sid()
    await counter_store.count_hit("failures", sid, ttl=600)
    await counter_store.count_hit("attempts", sid, ttl=600)
    await counter_store.clear_counters(sid, ["failures"])
    assert await counter_store.count_hit("failures", sid, ttl=600) == 1
    assert await counter_store.count_hit("attempts", sid, ttl=600) == 2


@pytest.mark.parametrize("ttl", [0, -5])
async def test_counter_writes_need_a_positive_ttl(counter_store: CounterStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await counter_store.count_hit("attempts", random_sid(), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await counter_store.add_distinct("shopping", random_sid(), "m", ttl=ttl)
