"""The RecordStore contract: records, their compare-and-set and the due lists (every backend)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from datetime import date, timedelta

import pytest
from store_factories import (
    CLIENT,
    NOW,
    OTHER_CLIENT,
    make_record,
    random_sid,
)

from service.store.errors import InvalidCursor
from service.store.roles import (
    DueEntry,
    RecordStore,
)

pytestmark = pytest.mark.anyio

TODAY = NOW.date()


async def all_due(
    record_store: RecordStore, before: date, limit: int, client_id: str = CLIENT
) -> tuple[list[DueEntry], list[int]]:
    """Every page, concatenated, plus the page sizes."""
    entries: list[DueEntry] = []
    sizes: list[int] = []
    cursor: str | None = None
    while True:
        page = await record_store.due(client_id, before, cursor, limit)
        entries += page.entries
        sizes.append(len(page.entries))
        if page.cursor is None:
            return entries, sizes
        cursor = page.cursor


async def test_record_round_trips_and_is_replaced(record_store: RecordStore) -> None:
    record = make_record()
    await record_store.put_record(record, ttl=3600)
    assert await record_store.get_record(record.sid) == record
    newer = dataclasses.replace(record, band="18_plus", age_up_at=None, generation=1)
    await record_store.put_record(newer, ttl=3600)
    assert await record_store.get_record(record.sid) == newer
    assert await record_store.get_record(random_sid()) is None


async def test_replace_record_writes_only_over_the_expected_record(record_store: RecordStore) -> None:
    record = make_record(recheck_at=TODAY - timedelta(days=2))
    assert await record_store.replace_record(None, record, ttl=3600)  # none expected, none there
    assert not await record_store.replace_record(None, record, ttl=3600)  # now there is one
    bumped = dataclasses.replace(record, generation=1, revoked_for="younger_band")
    assert await record_store.replace_record(record, bumped, ttl=3600)
    stale = dataclasses.replace(record, band="18_plus")
    assert not await record_store.replace_record(record, stale, ttl=3600)  # written over since
    assert await record_store.get_record(record.sid) == bumped
    moved = dataclasses.replace(bumped, recheck_at=TODAY - timedelta(days=5))
    assert await record_store.replace_record(bumped, moved, ttl=3600)
    assert [e.sid for e in (await record_store.due(CLIENT, TODAY, None, 10)).entries] == [record.sid]
    assert (await record_store.due(CLIENT, TODAY - timedelta(days=3), None, 10)).entries[
        0
    ].recheck_at == moved.recheck_at


async def test_concurrent_record_replacements_from_one_version_one_wins(record_store: RecordStore) -> None:
    record = make_record()
    await record_store.put_record(record, ttl=3600)
    copies = [dataclasses.replace(record, generation=i + 1) for i in range(20)]
    results = await asyncio.gather(*(record_store.replace_record(record, c, ttl=3600) for c in copies))
    assert results.count(True) == 1
    assert await record_store.get_record(record.sid) == copies[results.index(True)]


async def test_delete_record_removes_it_and_its_due_entry(record_store: RecordStore) -> None:
    record = make_record(recheck_at=TODAY - timedelta(days=1))
    await record_store.put_record(record, ttl=3600)
    assert await record_store.delete_record(record.sid, CLIENT) is True
    assert await record_store.get_record(record.sid) is None
    assert (await record_store.due(CLIENT, TODAY, None, 10)).entries == []
    assert await record_store.delete_record(record.sid, CLIENT) is False


async def test_due_pages_in_recheck_then_sid_order(record_store: RecordStore) -> None:
    rng = random.Random(7)
    days = [TODAY - timedelta(days=d) for d in (40, 9, 3, 1)]
    records = [make_record(recheck_at=rng.choice(days)) for _ in range(60)]
    # Not due: on the bound itself, after it, or another client's.
    records += [make_record(recheck_at=TODAY), make_record(recheck_at=TODAY + timedelta(days=30))]
    records.append(make_record(recheck_at=days[0], client_id=OTHER_CLIENT))
    rng.shuffle(records)
    for record in records:
        await record_store.put_record(record, ttl=3600)

    entries, sizes = await all_due(record_store, TODAY, limit=7)

    expected = sorted(
        (r.recheck_at, r.sid) for r in records if r.client_id == CLIENT and r.recheck_at < TODAY
    )
    assert [(e.recheck_at, e.sid) for e in entries] == expected
    assert sizes == [7] * 8 + [4]


async def test_due_pages_through_many_entries_on_one_day(record_store: RecordStore) -> None:
    day = TODAY - timedelta(days=2)
    sids = [random_sid() for _ in range(45)]
    for sid in sids:
        await record_store.put_record(make_record(sid, recheck_at=day), ttl=3600)
    entries, sizes = await all_due(record_store, TODAY, limit=10)
    assert [e.sid for e in entries] == sorted(sids)
    assert {e.recheck_at for e in entries} == {day}
    assert sizes == [10, 10, 10, 10, 5]


async def test_due_cursor_is_none_when_a_page_ends_the_list(record_store: RecordStore) -> None:
    for _ in range(4):
        await record_store.put_record(make_record(recheck_at=TODAY - timedelta(days=1)), ttl=3600)
    exact = await record_store.due(CLIENT, TODAY, None, 4)
    assert len(exact.entries) == 4
    assert exact.cursor is None
    first = await record_store.due(CLIENT, TODAY, None, 3)
    assert len(first.entries) == 3
    assert first.cursor is not None
    rest = await record_store.due(CLIENT, TODAY, first.cursor, 3)
    assert len(rest.entries) == 1
    assert rest.cursor is None


async def test_due_of_an_empty_index(record_store: RecordStore) -> None:
    page = await record_store.due(CLIENT, TODAY, None, 10)
    assert page.entries == []
    assert page.cursor is None


async def test_due_continues_after_the_cursor_entry_moved_or_went(record_store: RecordStore) -> None:
    day = TODAY - timedelta(days=5)
    records = sorted((make_record(recheck_at=day) for _ in range(9)), key=lambda r: r.sid)
    for record in records:
        await record_store.put_record(record, ttl=3600)
    first = await record_store.due(CLIENT, TODAY, None, 3)
    assert [e.sid for e in first.entries] == [r.sid for r in records[:3]]
    # The page's last subject is re-checked (moves to the future), the next one revoked.
    await record_store.put_record(dataclasses.replace(records[2], recheck_at=TODAY + timedelta(days=90)), 60)
    await record_store.delete_record(records[3].sid, CLIENT)
    entries, _ = await all_due(record_store, TODAY, limit=3)
    assert [e.sid for e in entries] == [r.sid for r in records[:2] + records[4:]]
    rest = await record_store.due(CLIENT, TODAY, first.cursor, 3)
    assert [e.sid for e in rest.entries] == [r.sid for r in records[4:7]]


async def test_due_moves_a_re_put_record_instead_of_duplicating_it(record_store: RecordStore) -> None:
    record = make_record(recheck_at=TODAY - timedelta(days=3))
    await record_store.put_record(record, ttl=3600)
    await record_store.put_record(dataclasses.replace(record, recheck_at=TODAY - timedelta(days=1)), 3600)
    page = await record_store.due(CLIENT, TODAY, None, 10)
    assert page.entries == [DueEntry(record.sid, TODAY - timedelta(days=1))]


async def test_due_skips_entries_whose_record_is_gone(record_store: RecordStore) -> None:
    day = TODAY - timedelta(days=1)
    records = [make_record(recheck_at=day) for _ in range(50)]
    for record in records:
        await record_store.put_record(record, ttl=3600)
    # Deleting under the wrong client leaves the right client's index entry behind, as a
    # crash between the two writes of delete_record would.
    gone = {r.sid for i, r in enumerate(records) if i % 5 < 3}
    for sid in gone:
        assert await record_store.delete_record(sid, OTHER_CLIENT) is True
    live = sorted(r.sid for r in records if r.sid not in gone)

    first = await record_store.due(CLIENT, TODAY, None, 15)
    assert [e.sid for e in first.entries] == live[:15]  # paged on past stale entries
    entries, _ = await all_due(record_store, TODAY, limit=4)
    assert [e.sid for e in entries] == live
    entries, _ = await all_due(record_store, TODAY, limit=4)  # again, after the clean-up
    assert [e.sid for e in entries] == live


async def test_due_never_shows_another_clients_subjects(record_store: RecordStore) -> None:
    day = TODAY - timedelta(days=1)
    ours = make_record(recheck_at=day)
    theirs = make_record(recheck_at=day, client_id=OTHER_CLIENT)
    await record_store.put_record(ours, ttl=3600)
    await record_store.put_record(theirs, ttl=3600)
    assert [e.sid for e in (await record_store.due(CLIENT, TODAY, None, 10)).entries] == [ours.sid]
    assert [e.sid for e in (await record_store.due(OTHER_CLIENT, TODAY, None, 10)).entries] == [theirs.sid]


async def test_due_rejects_a_bad_limit_or_cursor(record_store: RecordStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        await record_store.due(CLIENT, TODAY, None, 0)
    for cursor in ["", "not a cursor", "MjAyNi0wMS0wMQ", "!!!!"]:
        with pytest.raises(InvalidCursor):
            await record_store.due(CLIENT, TODAY, cursor, 10)


@pytest.mark.parametrize("ttl", [0, -5])
async def test_record_writes_need_a_positive_ttl(record_store: RecordStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await record_store.put_record(make_record(), ttl=ttl)
