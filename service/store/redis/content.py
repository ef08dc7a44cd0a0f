"""Items of adult content, each sid's index of them, and each client's unpublishable list, in Redis.

An item is one key, so publishability is one GET whatever the number of people in it, on one
server and on Cluster alike. The sid indexes and the client list live in other slots; they are
written after the item, and a crash in between only leaves an index one item short.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from service.store.codec import day_score, decode, encode, score_day
from service.store.content import (
    ContentItem,
    ListedItem,
    ListedPage,
    decode_listed_cursor,
    encode_listed_cursor,
)
from service.store.keys import require_ttl
from service.store.redis.connection import INDEX, Connection, text, unavailable
from service.store.redis.records import _DUE_PAGE as PAGE_BY_DAY

# Compare-and-set on the version inside the stored JSON; KEEPTTL keeps the item's retention.
_UPDATE_ITEM = """
local cur = redis.call('GET', KEYS[1])
if not cur or cjson.decode(cur)['version'] ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""

# A sid's item index: add and stretch its TTL in one step, so it never lives without one.
_TRACK_ITEM = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""


class RedisContent:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys
        self._update_item = conn.r.register_script(_UPDATE_ITEM)
        self._track_item = conn.r.register_script(_TRACK_ITEM)
        self._index = conn.r.register_script(INDEX)
        self._page = conn.r.register_script(PAGE_BY_DAY)

    async def create_item(self, item: ContentItem, ttl: int) -> bool:
        key = self._keys.content(item.content_id)
        with unavailable(self._c.on_error):
            created = await self._r.set(key, encode(item), ex=require_ttl(ttl), nx=True)
            if not created:
                return False
            for sid in sorted({p.sid for p in item.people if p.sid}):
                await self._track_item(keys=[self._keys.subject_content(sid)], args=[item.content_id, ttl])
        return True

    async def get_item(self, content_id: str) -> ContentItem | None:
        with unavailable(self._c.on_error):
            raw = await self._r.get(self._keys.content(content_id))
        return decode(ContentItem, raw) if raw is not None else None

    async def update_item(self, item: ContentItem) -> bool:
        new = encode(dataclasses.replace(item, version=item.version + 1))
        with unavailable(self._c.on_error):
            ok = await self._update_item(keys=[self._keys.content(item.content_id)], args=[item.version, new])
        if ok:
            item.version += 1
        return bool(ok)

    async def items_naming(self, sid: str) -> list[str]:
        with unavailable(self._c.on_error):
            ids = await self._r.smembers(self._keys.subject_content(sid))
        return sorted(text(i) for i in ids)

    async def forget_subject(self, sid: str) -> None:
        with unavailable(self._c.on_error):
            await self._r.delete(self._keys.subject_content(sid))

    async def list_item(self, client_id: str, content_id: str, day: date | None, ttl: int) -> None:
        key = self._keys.content_list(client_id)
        require_ttl(ttl)
        with unavailable(self._c.on_error):
            if day is None:
                await self._r.zrem(key, content_id)
            else:
                await self._index(keys=[key], args=[day_score(day), content_id, ttl, "SET"])

    async def unpublishable(self, client_id: str, before: date, cursor: str | None, limit: int) -> ListedPage:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        args: list[str | int] = [day_score(before), limit + 1]
        if cursor is not None:
            day, content_id = decode_listed_cursor(cursor)
            args += [day_score(day), content_id]
        with unavailable(self._c.on_error):
            flat = await self._page(keys=[self._keys.content_list(client_id)], args=args)
        positions = [(score_day(float(flat[i + 1])), text(flat[i])) for i in range(0, len(flat), 2)]
        page = positions[:limit]
        more = len(positions) > limit
        return ListedPage(
            [ListedItem(cid, day) for day, cid in page],
            encode_listed_cursor(*page[-1]) if more else None,
        )
