"""Hosted check page links and sessions, in Redis (one key each: Cluster-safe)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from service.store.codec import decode, encode
from service.store.keys import require_ttl
from service.store.records import PageLink, PageSession
from service.store.redis import set_index
from service.store.redis.connection import Connection, text, unavailable


class RedisPages:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys
        self._index_script = conn.r.register_script(set_index.ADD)
        self._take = conn.r.register_script(set_index.TAKE)

    async def _index(self, check_id: str, digest: str, ttl: int) -> None:
        # Indexed first: a page key that erasure by sid cannot find must never exist.
        await self._index_script(keys=[self._keys.page_index(check_id)], args=[digest, require_ttl(ttl)])

    async def put_link(self, digest: str, link: PageLink, ttl: int) -> None:
        with unavailable(self._c.on_error):
            await self._index(link.check_id, digest, ttl)
            fresh = await self._r.set(
                self._keys.page_link(digest), encode(link), ex=require_ttl(ttl), nx=True
            )
        if not fresh:
            raise ValueError("page link already taken")

    async def take_link(self, digest: str) -> PageLink | None:
        with unavailable(self._c.on_error):
            raw = await self._r.getdel(self._keys.page_link(digest))  # atomic: one taker only
        return decode(PageLink, raw) if raw is not None else None

    async def put_session(self, digest: str, session: PageSession, ttl: int) -> None:
        with unavailable(self._c.on_error):
            await self._index(session.link.check_id, digest, ttl)
            await self._r.set(self._keys.page_session(digest), encode(session), ex=require_ttl(ttl))

    async def get_session(self, digest: str) -> PageSession | None:
        with unavailable(self._c.on_error):
            raw = await self._r.get(self._keys.page_session(digest))
        return decode(PageSession, raw) if raw is not None else None

    async def drop_session(self, digest: str) -> bool:
        with unavailable(self._c.on_error):
            return bool(await self._r.delete(self._keys.page_session(digest)))

    async def erase_pages(self, check_id: str) -> int:
        index = [self._keys.page_index(check_id)]
        found = 0
        with unavailable(self._c.on_error):
            digests = await self._c.replicated(lambda r: self._take(keys=index, client=r))
            for raw in sorted(text(d) for d in digests or []):
                # Link and session keys are tagged by their digest: one command each (Cluster-safe).
                for key in (self._keys.page_link(raw), self._keys.page_session(raw)):
                    found += int(await self._c.replicated(_deleter(key)))
        return found


def _deleter(key: str) -> Callable[[Any], Awaitable[Any]]:
    return lambda r: r.delete(key)
