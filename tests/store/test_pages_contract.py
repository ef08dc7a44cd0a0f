"""The PageStore contract: single-use page links and the page sessions they open (every backend)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from store_backends import Backend

from service.store.records import PageLink, PageSession
from service.store.roles import PageStore

pytestmark = pytest.mark.anyio


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link(check_id: str = "chk_1") -> PageLink:
    return PageLink(check_id, "app", "https://app.example/done", "opaque-state", 1_900_000_000)


async def test_a_link_is_taken_once(page_store: PageStore) -> None:
    await page_store.put_link(digest("t1"), link(), ttl=600)
    assert await page_store.take_link(digest("t1")) == link()
    assert await page_store.take_link(digest("t1")) is None
    assert await page_store.take_link(digest("never")) is None


async def test_concurrent_takers_get_the_link_exactly_once(page_store: PageStore) -> None:
    await page_store.put_link(digest("t2"), link(), ttl=600)
    got = await asyncio.gather(*(page_store.take_link(digest("t2")) for _ in range(20)))
    assert sum(g is not None for g in got) == 1


async def test_a_link_digest_cannot_be_reused(page_store: PageStore) -> None:
    await page_store.put_link(digest("t3"), link(), ttl=600)
    with pytest.raises(ValueError, match="taken"):
        await page_store.put_link(digest("t3"), link("chk_2"), ttl=600)


async def test_sessions_are_stored_replaced_and_dropped(page_store: PageStore) -> None:
    first = PageSession(link(), csrf=digest("cookie"))
    await page_store.put_session(digest("s1"), first, ttl=600)
    assert await page_store.get_session(digest("s1")) == first
    later = PageSession(link(), csrf=digest("cookie"), outcome="passed", band="18_plus")
    await page_store.put_session(digest("s1"), later, ttl=600)
    assert await page_store.get_session(digest("s1")) == later
    assert await page_store.drop_session(digest("s1")) is True
    assert await page_store.get_session(digest("s1")) is None
    assert await page_store.drop_session(digest("s1")) is False


async def test_page_keys_have_ttls_and_hold_no_token(backend: Backend) -> None:
    pages = backend.store.pages
    await pages.put_link(digest("secret-link-token"), link(), ttl=600)
    await pages.put_session(digest("secret-session-token"), PageSession(link(), csrf="x" * 64), ttl=300)
    keys = await backend.raw_keys()
    assert len(keys) == 3  # the link, the session, and their check's page index
    assert all(left is not None and 0 < left <= 600 for left in keys.values())
    assert not any("secret" in k for k in keys)


async def test_links_and_sessions_expire(backend: Backend) -> None:
    pages = backend.store.pages
    await pages.put_link(digest("short"), link(), ttl=1)
    await pages.put_session(digest("short"), PageSession(link(), csrf="x" * 64), ttl=1)
    await backend.pass_time(1.2)
    assert await pages.take_link(digest("short")) is None
    assert await pages.get_session(digest("short")) is None


@pytest.mark.parametrize("ttl", [0, -1])
async def test_pages_need_a_positive_ttl(page_store: PageStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await page_store.put_link(digest("t"), link(), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await page_store.put_session(digest("t"), PageSession(link(), csrf="x"), ttl=ttl)


async def test_erasing_a_checks_pages_removes_its_links_and_sessions(page_store: PageStore) -> None:
    await page_store.put_link(digest("l1"), link("chk_a"), ttl=600)
    await page_store.put_session(digest("s1"), PageSession(link("chk_a"), csrf="x" * 64), ttl=600)
    await page_store.put_session(
        digest("s1"), PageSession(link("chk_a"), csrf="x" * 64, outcome="passed"), ttl=600
    )
    await page_store.put_link(digest("l2"), link("chk_b"), ttl=600)  # another check's: kept
    assert await page_store.erase_pages("chk_a") == 2
    assert await page_store.take_link(digest("l1")) is None
    assert await page_store.get_session(digest("s1")) is None
    assert await page_store.take_link(digest("l2")) == link("chk_b")
    assert await page_store.erase_pages("chk_a") == 0  # idempotent
    assert await page_store.erase_pages("chk_never") == 0


async def test_a_session_moved_to_another_check_is_erased_with_either(page_store: PageStore) -> None:
    """The page moves its session to an appeal check: erasing by either check id finds it."""
    await page_store.put_session(digest("s2"), PageSession(link("chk_c"), csrf="x" * 64), ttl=600)
    await page_store.put_session(digest("s2"), PageSession(link("chk_d"), csrf="x" * 64), ttl=600)
    assert await page_store.erase_pages("chk_d") == 1
    assert await page_store.get_session(digest("s2")) is None


async def test_the_page_index_has_a_ttl_and_names_no_token(backend: Backend) -> None:
    pages = backend.store.pages
    await pages.put_link(digest("secret-a"), link("chk_e"), ttl=100)
    await pages.put_session(digest("secret-b"), PageSession(link("chk_e"), csrf="x" * 64), ttl=300)
    keys = await backend.raw_keys()
    index = [k for k in keys if ":pgi:" in k]
    assert len(index) == 1 and "chk_e" in index[0]
    left = keys[index[0]]
    assert left is not None and 100 < left <= 300  # stretched to the longest key it indexes
    await pages.erase_pages("chk_e")
    assert await backend.raw_keys() == {}
