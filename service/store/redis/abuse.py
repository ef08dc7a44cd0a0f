"""Abuse counters, distinct sets and sanctions (of subjects and of devices), in Redis."""

from __future__ import annotations

from service.store.codec import decode, encode
from service.store.keys import require_ttl
from service.store.records import Sanction
from service.store.redis.connection import Connection, unavailable

# A fixed window: the TTL is set when the counter or set is created, never extended.
_COUNT_HIT = """
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""

_ADD_DISTINCT = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return redis.call('SCARD', KEYS[1])
"""


class RedisCounters:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys
        self._count_hit = conn.r.register_script(_COUNT_HIT)
        self._add_distinct = conn.r.register_script(_ADD_DISTINCT)

    async def count_hit(self, scope: str, subject: str, ttl: int) -> int:
        with unavailable():
            n = await self._count_hit(keys=[self._keys.counter(scope, subject)], args=[require_ttl(ttl)])
        return int(n)

    async def peek_count(self, scope: str, subject: str) -> int:
        with unavailable():
            raw = await self._r.get(self._keys.counter(scope, subject))
        return int(raw) if raw is not None else 0

    async def add_distinct(self, scope: str, subject: str, member: str, ttl: int) -> int:
        key = self._keys.distinct(scope, subject)
        with unavailable():
            n = await self._add_distinct(keys=[key], args=[member, require_ttl(ttl)])
        return int(n)

    async def clear_counters(self, subject: str, scopes: list[str]) -> None:
        keys = [k for s in scopes for k in (self._keys.counter(s, subject), self._keys.distinct(s, subject))]
        if keys:
            with unavailable():
                await self._c.replicated(lambda r: r.delete(*keys))  # one hash tag: one slot


class RedisSanctions:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys

    async def put_sanction(self, sanction: Sanction, ttl: int) -> None:
        with unavailable():
            await self._r.set(self._keys.sanction(sanction.sid), encode(sanction), ex=require_ttl(ttl))

    async def get_sanction(self, sid: str) -> Sanction | None:
        with unavailable():
            raw = await self._r.get(self._keys.sanction(sid))
        return decode(Sanction, raw) if raw is not None else None

    async def clear_sanction(self, sid: str) -> None:
        key = self._keys.sanction(sid)
        with unavailable():
            await self._c.replicated(lambda r: r.delete(key))

    async def put_device_sanction(self, device: str, sanction: Sanction, ttl: int) -> None:
        with unavailable():
            await self._r.set(self._keys.device_sanction(device), encode(sanction), ex=require_ttl(ttl))

    async def get_device_sanction(self, device: str) -> Sanction | None:
        with unavailable():
            raw = await self._r.get(self._keys.device_sanction(device))
        return decode(Sanction, raw) if raw is not None else None
