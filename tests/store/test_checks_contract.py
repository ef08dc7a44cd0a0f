"""The CheckStore contract: checks, versions and attempt counters (every backend)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from store_backends import Backend
from store_factories import (
    NOW,
    make_check,
)

from service.store.records import CheckStatus
from service.store.roles import (
    CheckStore,
)

pytestmark = pytest.mark.anyio

TODAY = NOW.date()


async def test_check_round_trips(check_store: CheckStore) -> None:
    check = make_check(NOW)
    await check_store.create_check(check, ttl=900)
    assert await check_store.get_check(check.check_id) == check
    assert await check_store.get_check(make_check(NOW).check_id) is None


async def test_create_check_refuses_a_taken_id(check_store: CheckStore) -> None:
    check = make_check(NOW)
    await check_store.create_check(check, ttl=900)
    with pytest.raises(ValueError, match="taken"):
        await check_store.create_check(dataclasses.replace(check, purpose="other"), ttl=900)
    assert await check_store.get_check(check.check_id) == check


async def test_update_check_bumps_the_version(check_store: CheckStore) -> None:
    check = make_check(NOW)
    await check_store.create_check(check, ttl=900)
    check.methods_tried.append("age_credential")
    assert await check_store.update_check(check) is True
    assert check.version == 1
    assert await check_store.get_check(check.check_id) == check
    check.interval_lo = 18
    assert await check_store.update_check(check) is True
    assert (await check_store.get_check(check.check_id)) == check
    assert check.version == 2


async def test_update_check_from_a_stale_version_loses(check_store: CheckStore) -> None:
    check = make_check(NOW)
    await check_store.create_check(check, ttl=900)
    stale = dataclasses.replace(check)
    assert await check_store.update_check(check) is True
    stale.reason = "late_writer"
    assert await check_store.update_check(stale) is False
    assert stale.version == 0  # untouched on a lost race
    assert await check_store.get_check(check.check_id) == check


async def test_update_check_of_a_missing_check_is_false(check_store: CheckStore) -> None:
    check = make_check(NOW)
    assert await check_store.update_check(check) is False
    assert check.version == 0
    assert await check_store.get_check(check.check_id) is None  # and it did not create one


async def test_update_check_keeps_the_ttl(backend: Backend) -> None:
    check = make_check(NOW)
    await backend.store.checks.create_check(check, ttl=900)
    assert await backend.store.checks.update_check(check)
    (ttl,) = (await backend.raw_keys()).values()
    assert ttl is not None
    assert 890 < ttl <= 900


async def test_concurrent_updates_from_one_version_one_wins(check_store: CheckStore) -> None:
    check = make_check(NOW)
    await check_store.create_check(check, ttl=900)
    a = dataclasses.replace(check, status=CheckStatus.PASSED, methods_tried=["a"])
    b = dataclasses.replace(check, status=CheckStatus.FAILED, methods_tried=["b"])
    results = await asyncio.gather(check_store.update_check(a), check_store.update_check(b))
    assert sorted(results) == [False, True]
    winner = a if results[0] else b
    assert winner.version == 1
    assert await check_store.get_check(check.check_id) == winner


async def test_many_concurrent_updates_from_one_version_one_wins(check_store: CheckStore) -> None:
    check = make_check(NOW)
    await check_store.create_check(check, ttl=900)
    copies = [dataclasses.replace(check, reason=f"writer_{i}") for i in range(20)]
    results = await asyncio.gather(*(check_store.update_check(c) for c in copies))
    assert results.count(True) == 1
    stored = await check_store.get_check(check.check_id)
    assert stored == copies[results.index(True)]


async def test_claim_attempt_counts_up_to_the_limit(check_store: CheckStore) -> None:
    check_id = make_check(NOW).check_id
    assert [await check_store.claim_attempt(check_id, limit=3, ttl=900) for _ in range(3)] == [1, 2, 3]
    assert await check_store.claim_attempt(check_id, limit=3, ttl=900) is None
    assert await check_store.claim_attempt(check_id, limit=3, ttl=900) is None
    # Refused claims left the counter at 3: a higher limit continues from there.
    assert await check_store.claim_attempt(check_id, limit=5, ttl=900) == 4


async def test_claim_attempt_counts_per_check(check_store: CheckStore) -> None:
    one, two = make_check(NOW).check_id, make_check(NOW).check_id
    assert await check_store.claim_attempt(one, limit=1, ttl=900) == 1
    assert await check_store.claim_attempt(one, limit=1, ttl=900) is None
    assert await check_store.claim_attempt(two, limit=1, ttl=900) == 1


async def test_concurrent_claims_never_exceed_the_limit(check_store: CheckStore) -> None:
    check_id = make_check(NOW).check_id
    results = await asyncio.gather(
        *(check_store.claim_attempt(check_id, limit=5, ttl=900) for _ in range(50))
    )
    assert sorted(r for r in results if r is not None) == [1, 2, 3, 4, 5]
    assert results.count(None) == 45


async def test_release_attempt_gives_one_back(check_store: CheckStore) -> None:
    check_id = make_check(NOW).check_id
    assert [await check_store.claim_attempt(check_id, limit=3, ttl=900) for _ in range(3)] == [1, 2, 3]
    assert await check_store.release_attempt(check_id) == 2
    assert await check_store.claim_attempt(check_id, limit=3, ttl=900) == 3  # the given-back attempt
    assert await check_store.claim_attempt(check_id, limit=3, ttl=900) is None


async def test_release_attempt_never_goes_below_zero_nor_creates_the_counter(backend: Backend) -> None:
    check_store = backend.store.checks
    check_id = make_check(NOW).check_id
    assert await check_store.release_attempt(check_id) == 0
    assert await backend.raw_keys() == {}  # nothing written for a check with no counter
    assert await check_store.claim_attempt(check_id, limit=2, ttl=900) == 1
    assert [await check_store.release_attempt(check_id) for _ in range(3)] == [0, 0, 0]
    assert [await check_store.claim_attempt(check_id, limit=2, ttl=900) for _ in range(3)] == [1, 2, None]


async def test_release_attempt_keeps_the_ttl(backend: Backend) -> None:
    """The window is not stretched: a released counter still expires when it would have.
    (Compared with its own TTL just before, so a slow machine cannot make it fail.)"""
    check_store = backend.store.checks
    check_id = make_check(NOW).check_id
    assert await check_store.claim_attempt(check_id, limit=3, ttl=900) == 1
    assert await check_store.claim_attempt(check_id, limit=3, ttl=900) == 2
    await backend.pass_time(1.1)
    (before,) = (await backend.raw_keys()).values()
    assert await check_store.release_attempt(check_id) == 1
    (after,) = (await backend.raw_keys()).values()
    assert before is not None and after is not None
    assert after <= before < 899.5  # not set back to 900


async def test_concurrent_releases_and_claims_stay_within_bounds(check_store: CheckStore) -> None:
    check_id = make_check(NOW).check_id
    for _ in range(5):
        await check_store.claim_attempt(check_id, limit=5, ttl=900)
    released = await asyncio.gather(*(check_store.release_attempt(check_id) for _ in range(12)))
    assert sorted(released) == [0] * 8 + [1, 2, 3, 4]  # never below zero
    results = await asyncio.gather(
        *(check_store.claim_attempt(check_id, limit=5, ttl=900) for _ in range(20))
    )
    assert sorted(r for r in results if r is not None) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("ttl", [0, -5])
async def test_check_writes_need_a_positive_ttl(check_store: CheckStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await check_store.create_check(make_check(NOW), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await check_store.claim_attempt(make_check(NOW).check_id, limit=3, ttl=ttl)
