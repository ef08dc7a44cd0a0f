"""The EventStream contract: a stopping consumer hands back the entries it will not deliver."""

from __future__ import annotations

import pytest
from store_backends import Backend
from store_factories import make_event

pytestmark = pytest.mark.anyio


async def test_handed_back_entries_are_claimable_at_once_and_never_lost(backend: Backend) -> None:
    stream = backend.store.events
    events = [make_event() for _ in range(3)]
    await stream.publish_event(events[0], ttl=3600)
    await stream.ensure_group("g")
    for e in events[1:]:
        await stream.publish_event(e, ttl=3600)
    first, *rest = await stream.read_events("g", "stopping", 3, 0)
    # Fresh entries are not claimable by another consumer before they idle for a minute...
    assert await stream.claim_stale("g", "rescuer", 60_000, 10) == []
    await stream.hand_back("g", "stopping", [d.entry_id for d in rest], 60_000)
    # ...but handed-back ones are, at once, and only those.
    claimed = await stream.claim_stale("g", "rescuer", 60_000, 10)
    assert [d.entry_id for d in claimed] == [d.entry_id for d in rest]
    assert [d.event for d in claimed] == events[1:]
    assert await stream.read_own_pending("g", "stopping", 10) == [
        type(first)(first.entry_id, first.event, True)
    ]


async def test_hand_back_without_a_group_or_entries_is_harmless(backend: Backend) -> None:
    await backend.store.events.hand_back("g", "c", [], 1000)
    await backend.store.events.hand_back("g", "c", ["1-0"], 1000)
