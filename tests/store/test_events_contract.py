"""The EventStream contract: the webhook stream, its groups, retries and dead letters (every backend)."""

from __future__ import annotations

import dataclasses
import secrets

import pytest
from store_backends import Backend
from store_factories import (
    CLIENT,
    NOW,
    make_event,
    random_sid,
)

from service.store.events import QueuedEvent
from service.store.roles import (
    EventStream,
)

pytestmark = pytest.mark.anyio

TODAY = NOW.date()


async def test_events_go_to_one_consumer_of_a_group(event_stream: EventStream) -> None:
    events = [make_event() for _ in range(6)]
    await event_stream.publish_event(events[0], ttl=3600)
    await event_stream.ensure_group("g")
    await event_stream.ensure_group("g")  # idempotent
    for e in events[1:]:
        await event_stream.publish_event(e, ttl=3600)
    one = await event_stream.read_events("g", "c1", 4, 0)
    two = await event_stream.read_events("g", "c2", 4, 0)
    assert [d.event for d in one + two] == events  # in order, each once
    assert not any(d.redelivered for d in one + two)
    assert await event_stream.read_events("g", "c1", 4, 0) == []


async def test_unsettled_events_are_claimed_after_idling(backend: Backend) -> None:
    event_stream = backend.store.events
    event = make_event()
    await event_stream.publish_event(event, ttl=3600)
    await event_stream.ensure_group("g")
    (got,) = await event_stream.read_events("g", "crashed", 1, 0)
    assert await event_stream.claim_stale("g", "rescuer", 60_000, 10) == []  # not idle long enough
    await backend.pass_time(0.2)
    (claimed,) = await event_stream.claim_stale("g", "rescuer", 100, 10)
    assert claimed.entry_id == got.entry_id
    assert claimed.event == event
    assert claimed.redelivered
    await event_stream.ack_event("g", claimed.entry_id)
    await backend.pass_time(0.2)
    assert await event_stream.claim_stale("g", "other", 100, 10) == []


async def test_retry_requeues_the_same_event_when_due(event_stream: EventStream) -> None:
    event = make_event()
    await event_stream.publish_event(event, ttl=3600)
    await event_stream.ensure_group("g")
    (d,) = await event_stream.read_events("g", "c", 1, 0)
    again = dataclasses.replace(event, attempt=1)
    await event_stream.retry_event("g", d.entry_id, again, at_ms=5_000, ttl=3600)
    await event_stream.retry_event("g", d.entry_id, again, at_ms=5_000, ttl=3600)  # settled: no second retry
    assert await event_stream.release_retries(4_999, 10) == 0
    assert await event_stream.read_events("g", "c", 10, 0) == []
    assert await event_stream.release_retries(5_000, 10) == 1
    (back,) = await event_stream.read_events("g", "c", 10, 0)
    assert back.event == again
    assert back.event.event_id == event.event_id  # the id is the idempotency key
    assert await event_stream.release_retries(10_000, 10) == 0


async def test_dead_letters_keep_the_event_newest_first(event_stream: EventStream) -> None:
    events = [make_event(), make_event()]
    for e in events:
        await event_stream.publish_event(e, ttl=3600)
    await event_stream.ensure_group("g")
    for d in await event_stream.read_events("g", "c", 10, 0):
        await event_stream.dead_letter("g", d.entry_id, d.event, ttl=3600)
    assert await event_stream.dead_letters(10) == events[::-1]
    assert await event_stream.read_events("g", "c", 10, 0) == []


async def test_a_group_made_before_the_stream_exists_still_gets_events(event_stream: EventStream) -> None:
    await event_stream.ensure_group("g")  # no stream yet: nothing is created (it would have no TTL)
    assert await event_stream.read_events("g", "c", 10, 0) == []
    event = make_event()
    await event_stream.publish_event(event, ttl=3600)
    assert await event_stream.read_events("g", "c", 10, 0) == []  # creates the group from the start
    await event_stream.ensure_group("g")
    (d,) = await event_stream.read_events("g", "c", 10, 0)
    assert d.event == event


async def test_a_restarted_consumer_resumes_its_own_pending_entries(event_stream: EventStream) -> None:
    events = [make_event(), make_event()]
    for e in events:
        await event_stream.publish_event(e, ttl=3600)
    await event_stream.ensure_group("g")
    first, second = await event_stream.read_events("g", "w1", 2, 0)
    await event_stream.ack_event("g", first.entry_id)
    assert await event_stream.read_own_pending("g", "w2", 10) == []  # another consumer's: not yours
    (again,) = await event_stream.read_own_pending("g", "w1", 10)
    assert (again.entry_id, again.event, again.redelivered) == (second.entry_id, events[1], True)
    await event_stream.ack_event("g", again.entry_id)
    assert await event_stream.read_own_pending("g", "w1", 10) == []


async def test_erasing_a_subjects_events_leaves_no_event_naming_it(event_stream: EventStream) -> None:
    """Erasure: queued, pending, retrying and dead-lettered events naming the sid all go."""
    gone, kept = random_sid(CLIENT), random_sid(CLIENT)

    def event_for(sid: str) -> QueuedEvent:
        body = f'{{"data":{{"reason":"app_request","sid":"{sid}"}},"type":"subject.revoked"}}'
        return QueuedEvent("evt_" + secrets.token_hex(12), CLIENT, "subject.revoked", body)

    to_retry, to_dead, pending, queued = (event_for(gone) for _ in range(4))
    other = event_for(kept)
    for e in (to_retry, to_dead, pending):
        await event_stream.publish_event(e, ttl=3600)
    await event_stream.ensure_group("g")
    deliveries = {d.event.event_id: d for d in await event_stream.read_events("g", "w1", 10, 0)}
    await event_stream.retry_event(
        "g", deliveries[to_retry.event_id].entry_id, to_retry, at_ms=5_000, ttl=3600
    )
    await event_stream.dead_letter("g", deliveries[to_dead.event_id].entry_id, to_dead, ttl=3600)
    await event_stream.publish_event(queued, ttl=3600)  # not yet read by anyone
    await event_stream.publish_event(other, ttl=3600)

    assert await event_stream.erase_events(gone) == 4
    assert await event_stream.erase_events(gone) == 0
    assert await event_stream.read_own_pending("g", "w1", 10) == []  # the pending delivery went too
    assert await event_stream.dead_letters(10) == []
    assert await event_stream.release_retries(10_000, 10) == 0
    assert [d.event for d in await event_stream.read_events("g", "w2", 10, 0)] == [other]
    # Settling the erased delivery afterwards requeues nothing.
    await event_stream.retry_event("g", deliveries[pending.event_id].entry_id, pending, at_ms=0, ttl=3600)
    assert await event_stream.release_retries(10_000, 10) == 0


@pytest.mark.parametrize("ttl", [0, -5])
async def test_publishing_needs_a_positive_ttl(event_stream: EventStream, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await event_stream.publish_event(make_event(), ttl=ttl)
