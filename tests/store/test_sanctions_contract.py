"""The SanctionStore contract: sanctions of subjects and of devices (every backend)."""

from __future__ import annotations

import pytest
from store_factories import (
    NOW,
    make_sanction,
    random_sid,
)

from service.store.roles import (
    SanctionStore,
)

pytestmark = pytest.mark.anyio

TODAY = NOW.date()


async def test_sanction_round_trips_and_clears(sanction_store: SanctionStore) -> None:
    sid = random_sid()
    assert await sanction_store.get_sanction(sid) is None
    sanction = make_sanction(sid)
    await sanction_store.put_sanction(sanction, ttl=600)
    assert await sanction_store.get_sanction(sid) == sanction
    await sanction_store.clear_sanction(sid)
    assert await sanction_store.get_sanction(sid) is None


async def test_a_device_sanction_is_kept_apart_from_the_subjects(sanction_store: SanctionStore) -> None:
    sid = random_sid()
    device = "dev_" + sid[4:]  # a keyed hash like the subject's, in its own key space
    assert await sanction_store.get_device_sanction(device) is None
    sanction = make_sanction(device)
    await sanction_store.put_device_sanction(device, sanction, ttl=600)
    assert await sanction_store.get_device_sanction(device) == sanction
    assert (
        await sanction_store.get_sanction(device) is None
        and await sanction_store.get_device_sanction(sid) is None
    )


@pytest.mark.parametrize("ttl", [0, -5])
async def test_sanction_writes_need_a_positive_ttl(sanction_store: SanctionStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await sanction_store.put_sanction(make_sanction(random_sid()), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await sanction_store.put_device_sanction("dev_x", make_sanction("dev_x"), ttl=ttl)
