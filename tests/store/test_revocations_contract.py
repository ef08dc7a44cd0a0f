"""The RevocationStore contract: revocation markers (every backend)."""

from __future__ import annotations

import pytest
from store_backends import Backend
from store_factories import (
    NOW,
    random_sid,
)

from service.store.roles import (
    RevocationStore,
)

pytestmark = pytest.mark.anyio

TODAY = NOW.date()


async def test_revocation_keeps_the_latest_time(revocation_store: RevocationStore) -> None:
    sid = random_sid()
    assert await revocation_store.revoked_at(sid) is None
    await revocation_store.revoke(sid, revoked_at=1_772_000_000, ttl=600)
    assert await revocation_store.revoked_at(sid) == 1_772_000_000
    await revocation_store.revoke(sid, revoked_at=1_771_000_000, ttl=600)  # earlier: must not revive
    assert await revocation_store.revoked_at(sid) == 1_772_000_000
    await revocation_store.revoke(sid, revoked_at=1_773_000_000, ttl=600)
    assert await revocation_store.revoked_at(sid) == 1_773_000_000
    assert await revocation_store.revoked_at(random_sid()) is None


async def test_revocation_keeps_the_longest_ttl(backend: Backend) -> None:
    sid = random_sid()
    await backend.store.revocations.revoke(sid, revoked_at=1_772_000_000, ttl=600)
    await backend.store.revocations.revoke(sid, revoked_at=1_772_000_100, ttl=60)
    (ttl,) = (await backend.raw_keys()).values()
    assert ttl is not None
    assert ttl > 590


async def test_revoked_at_many_reads_each_marker_in_order(revocation_store: RevocationStore) -> None:
    a, b, c = random_sid(), random_sid(), random_sid()
    await revocation_store.revoke(a, revoked_at=1_772_000_000, ttl=600)
    await revocation_store.revoke(c, revoked_at=1_773_000_000, ttl=600)
    assert await revocation_store.revoked_at_many([a, b, c]) == [1_772_000_000, None, 1_773_000_000]
    assert await revocation_store.revoked_at_many([b]) == [None]
    assert await revocation_store.revoked_at_many([c]) == [1_773_000_000]
    assert await revocation_store.revoked_at_many([]) == []
    many = [random_sid() for _ in range(2500)]  # more than one round trip's worth
    await revocation_store.revoke(many[1700], revoked_at=5, ttl=600)
    assert await revocation_store.revoked_at_many(many) == [5 if i == 1700 else None for i in range(2500)]


@pytest.mark.parametrize("ttl", [0, -5])
async def test_revocations_need_a_positive_ttl(revocation_store: RevocationStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await revocation_store.revoke(random_sid(), revoked_at=1, ttl=ttl)
