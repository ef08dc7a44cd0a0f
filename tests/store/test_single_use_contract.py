"""The SingleUse contract: markers that admit one use each (every backend)."""

from __future__ import annotations

import asyncio

import pytest
from store_factories import (
    NOW,
)

from service.store.roles import (
    SingleUse,
)

pytestmark = pytest.mark.anyio

TODAY = NOW.date()


async def test_use_once_is_true_only_the_first_time(single_use: SingleUse) -> None:
    assert await single_use.use_once("jti-1", ttl=300) is True
    assert await single_use.use_once("jti-1", ttl=300) is False
    assert await single_use.use_once("jti-2", ttl=300) is True


async def test_concurrent_use_once_admits_exactly_one(single_use: SingleUse) -> None:
    results = await asyncio.gather(*(single_use.use_once("nonce-x", ttl=300) for _ in range(30)))
    assert results.count(True) == 1


@pytest.mark.parametrize("ttl", [0, -5])
async def test_single_use_needs_a_positive_ttl(single_use: SingleUse, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await single_use.use_once("nonce", ttl=ttl)
