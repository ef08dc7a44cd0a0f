"""Hosted check page links and sessions, in memory."""

from __future__ import annotations

from service.store.codec import decode, encode
from service.store.memory.space import KeySpace
from service.store.records import PageLink, PageSession


class MemoryPages:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    def _index(self, check_id: str, digest: str, ttl: int) -> None:
        key = self._keys.page_index(check_id)
        entry = self._s.get(key)
        if entry is None or not isinstance(entry.value, set):
            self._s.put(key, {digest}, ttl)
            return
        entry.value.add(digest)
        self._s.extend(key, ttl)

    async def put_link(self, digest: str, link: PageLink, ttl: int) -> None:
        key = self._keys.page_link(digest)
        if self._s.get(key) is not None:
            raise ValueError("page link already taken")
        self._index(link.check_id, digest, ttl)
        self._s.put(key, encode(link), ttl)

    async def take_link(self, digest: str) -> PageLink | None:
        key = self._keys.page_link(digest)
        raw = self._s.text(key)
        if raw is None:
            return None
        self._s.drop(key)  # no await in between: one taker only
        return decode(PageLink, raw)

    async def put_session(self, digest: str, session: PageSession, ttl: int) -> None:
        self._index(session.link.check_id, digest, ttl)
        self._s.put(self._keys.page_session(digest), encode(session), ttl)

    async def get_session(self, digest: str) -> PageSession | None:
        raw = self._s.text(self._keys.page_session(digest))
        return decode(PageSession, raw) if raw is not None else None

    async def drop_session(self, digest: str) -> bool:
        key = self._keys.page_session(digest)
        found = self._s.get(key) is not None
        self._s.drop(key)
        return found

    async def erase_pages(self, check_id: str) -> int:
        index = self._keys.page_index(check_id)
        digests: set[str] = self._s.value(index, set) or set()
        self._s.drop(index)
        found = 0
        for digest in sorted(digests):
            for key in (self._keys.page_link(digest), self._keys.page_session(digest)):
                found += self._s.get(key) is not None
                self._s.drop(key)
        return found
