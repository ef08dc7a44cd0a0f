"""Hosted check page links and sessions, in memory."""

from __future__ import annotations

from service.store.codec import decode, encode
from service.store.memory.space import KeySpace
from service.store.records import PageLink, PageSession


class MemoryPages:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    async def put_link(self, digest: str, link: PageLink, ttl: int) -> None:
        key = self._keys.page_link(digest)
        if self._s.get(key) is not None:
            raise ValueError("page link already taken")
        self._s.put(key, encode(link), ttl)

    async def take_link(self, digest: str) -> PageLink | None:
        key = self._keys.page_link(digest)
        raw = self._s.text(key)
        if raw is None:
            return None
        self._s.drop(key)  # no await in between: one taker only
        return decode(PageLink, raw)

    async def put_session(self, digest: str, session: PageSession, ttl: int) -> None:
        self._s.put(self._keys.page_session(digest), encode(session), ttl)

    async def get_session(self, digest: str) -> PageSession | None:
        raw = self._s.text(self._keys.page_session(digest))
        return decode(PageSession, raw) if raw is not None else None

    async def drop_session(self, digest: str) -> bool:
        key = self._keys.page_session(digest)
        found = self._s.get(key) is not None
        self._s.drop(key)
        return found
