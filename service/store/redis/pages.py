"""Hosted check page links and sessions, in Redis (one key each: Cluster-safe)."""

from __future__ import annotations

from service.store.codec import decode, encode
from service.store.keys import require_ttl
from service.store.records import PageLink, PageSession
from service.store.redis.connection import Connection, unavailable


class RedisPages:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys

    async def put_link(self, digest: str, link: PageLink, ttl: int) -> None:
        with unavailable(self._c.on_error):
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
            await self._r.set(self._keys.page_session(digest), encode(session), ex=require_ttl(ttl))

    async def get_session(self, digest: str) -> PageSession | None:
        with unavailable(self._c.on_error):
            raw = await self._r.get(self._keys.page_session(digest))
        return decode(PageSession, raw) if raw is not None else None

    async def drop_session(self, digest: str) -> bool:
        with unavailable(self._c.on_error):
            return bool(await self._r.delete(self._keys.page_session(digest)))
