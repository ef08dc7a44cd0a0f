"""The TimerStore contract: lifecycle timers per client (every backend)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_factories import (
    CLIENT,
    NOW,
    OTHER_CLIENT,
    random_sid,
)

from service.store.roles import (
    TimerStore,
)

pytestmark = pytest.mark.anyio

TODAY = NOW.date()


async def test_timers_come_due_in_day_order_per_client(timer_store: TimerStore) -> None:
    a, b, c = random_sid(), random_sid(), random_sid()
    await timer_store.schedule(CLIENT, a, TODAY + timedelta(days=2), ttl=86_400)
    await timer_store.schedule(CLIENT, b, TODAY - timedelta(days=1), ttl=86_400)
    await timer_store.schedule(CLIENT, c, TODAY, ttl=86_400)
    await timer_store.schedule(OTHER_CLIENT, random_sid(OTHER_CLIENT), TODAY, ttl=86_400)
    assert await timer_store.timers_due(CLIENT, TODAY + timedelta(days=1), 10) == [
        (b, TODAY - timedelta(days=1)),
        (c, TODAY),
    ]
    assert await timer_store.timers_due(CLIENT, TODAY + timedelta(days=1), 1) == [
        (b, TODAY - timedelta(days=1))
    ]
    await timer_store.schedule(CLIENT, b, TODAY + timedelta(days=5), ttl=86_400)  # moved later
    await timer_store.unschedule(CLIENT, c)
    assert await timer_store.timers_due(CLIENT, TODAY + timedelta(days=3), 10) == [
        (a, TODAY + timedelta(days=2))
    ]


@pytest.mark.parametrize("ttl", [0, -5])
async def test_timers_need_a_positive_ttl(timer_store: TimerStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await timer_store.schedule(CLIENT, random_sid(), TODAY, ttl=ttl)
