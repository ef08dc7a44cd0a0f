"""The ContentStore contract: items in one key, the sid index, the unpublishable list (every backend)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from store_factories import CLIENT, NOW, OTHER_CLIENT, make_item, random_sid

from service.store.content import Performer
from service.store.errors import InvalidCursor
from service.store.roles import ContentStore

pytestmark = pytest.mark.anyio

TODAY = NOW.date()


async def test_an_item_round_trips_with_everyone_in_it(content_store: ContentStore) -> None:
    sids = [random_sid() for _ in range(10)]
    item = make_item(*sids)
    item.people[3] = dataclasses.replace(
        item.people[3], consent="c" * 43, consented_at=1, band="18_plus", level="highly_effective",
        method="age_credential", assured_at=TODAY, recheck_at=TODAY + timedelta(days=365), lower_age=30,
    )  # fmt: skip
    assert await content_store.create_item(item, ttl=3600) is True
    assert await content_store.get_item(item.content_id) == item
    assert await content_store.get_item(make_item().content_id) is None


async def test_an_id_is_taken_once(content_store: ContentStore) -> None:
    item = make_item(random_sid())
    assert await content_store.create_item(item, ttl=3600) is True
    again = dataclasses.replace(item, recorded="2020-01")
    assert await content_store.create_item(again, ttl=3600) is False
    stored = await content_store.get_item(item.content_id)
    assert stored is not None and stored.recorded == item.recorded


async def test_update_is_compare_and_set_on_the_version(content_store: ContentStore) -> None:
    item = make_item(random_sid())
    await content_store.create_item(item, ttl=3600)
    first = dataclasses.replace(item, people=[dataclasses.replace(item.people[0], flag="revoked")])
    stale = dataclasses.replace(item, people=[dataclasses.replace(item.people[0], consent="x" * 43)])
    assert await content_store.update_item(first) is True
    assert first.version == 1
    assert await content_store.update_item(stale) is False  # read before the first write
    stored = await content_store.get_item(item.content_id)
    assert stored is not None and stored.people[0].flag == "revoked" and stored.people[0].consent is None
    assert stored.version == 1


async def test_update_of_a_missing_item_fails(content_store: ContentStore) -> None:
    assert await content_store.update_item(make_item(random_sid())) is False


async def test_items_are_indexed_under_each_sid_until_forgotten(content_store: ContentStore) -> None:
    a, b = random_sid(), random_sid()
    one, two = make_item(a, b), make_item(b)
    await content_store.create_item(one, ttl=3600)
    await content_store.create_item(two, ttl=3600)
    assert await content_store.items_naming(a) == [one.content_id]
    assert await content_store.items_naming(b) == sorted([one.content_id, two.content_id])
    await content_store.forget_subject(b)
    assert await content_store.items_naming(b) == []
    assert await content_store.items_naming(a) == [one.content_id]


async def test_an_uploader_who_is_not_depicted_is_indexed_too(content_store: ContentStore) -> None:
    a, uploader = random_sid(), random_sid()
    item = make_item(a)
    item.people.append(Performer(sid=uploader, role="uploader"))
    await content_store.create_item(item, ttl=3600)
    assert await content_store.items_naming(uploader) == [item.content_id]


async def test_the_unpublishable_list_pages_by_day_then_id(content_store: ContentStore) -> None:
    items = [make_item(random_sid()) for _ in range(5)]
    days = [TODAY - timedelta(days=d) for d in (3, 1, 1, 0, -5)]  # the last lapses in five days
    for item, day in zip(items, days, strict=True):
        await content_store.list_item(CLIENT, item.content_id, day, ttl=3600)
    expected = sorted(
        ((d, i.content_id) for i, d in zip(items, days, strict=True) if d <= TODAY), key=lambda p: p
    )
    seen = []
    cursor = None
    while True:
        page = await content_store.unpublishable(CLIENT, TODAY + timedelta(days=1), cursor, 2)
        seen += [(e.since, e.content_id) for e in page.items]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == expected
    other = await content_store.unpublishable(OTHER_CLIENT, TODAY + timedelta(days=30), None, 10)
    assert other.items == []


async def test_an_item_leaves_the_list_or_moves_in_it(content_store: ContentStore) -> None:
    item = make_item(random_sid())
    await content_store.list_item(CLIENT, item.content_id, TODAY, ttl=3600)
    await content_store.list_item(CLIENT, item.content_id, TODAY + timedelta(days=9), ttl=3600)
    page = await content_store.unpublishable(CLIENT, TODAY + timedelta(days=1), None, 10)
    assert page.items == []
    page = await content_store.unpublishable(CLIENT, TODAY + timedelta(days=10), None, 10)
    assert [(e.content_id, e.since) for e in page.items] == [(item.content_id, TODAY + timedelta(days=9))]
    await content_store.list_item(CLIENT, item.content_id, None, ttl=3600)
    page = await content_store.unpublishable(CLIENT, TODAY + timedelta(days=10), None, 10)
    assert page.items == []


@pytest.mark.parametrize("cursor", ["", "not-a-cursor", "MjAyNi0wMy0wMXxzaWRfeA"])
async def test_a_foreign_cursor_is_refused(content_store: ContentStore, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        await content_store.unpublishable(CLIENT, TODAY, cursor, 10)


@pytest.mark.parametrize("ttl", [0, -5])
async def test_content_writes_need_a_positive_ttl(content_store: ContentStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await content_store.create_item(make_item(random_sid()), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await content_store.list_item(CLIENT, make_item().content_id, TODAY, ttl=ttl)
