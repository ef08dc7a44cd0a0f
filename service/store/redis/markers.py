"""Revocation and single-use markers, in Redis."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio.cluster import RedisCluster

from service.store.keys import require_ttl
from service.store.redis.connection import Connection, unavailable

_MGET_CHUNK = 1000  # keys per MGET: a batch decision's token subjects, read without a long block

# Keep the later revocation time and the longer TTL: a second revocation never revives
# tokens that the first one voided.
_REVOKE = """
local at = ARGV[1]
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) > tonumber(at) then at = cur end
local ttl = math.max(redis.call('TTL', KEYS[1]), tonumber(ARGV[2]))
redis.call('SET', KEYS[1], at, 'EX', ttl)
return 1
"""


class RedisRevocations:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys
        self._revoke = conn.r.register_script(_REVOKE)

    async def revoke(self, sid: str, revoked_at: int, ttl: int) -> None:
        keys, args = [self._keys.revoked(sid)], [revoked_at, require_ttl(ttl)]
        with unavailable(self._c.on_error):
            await self._c.replicated(lambda r: self._revoke(keys=keys, args=args, client=r))

    async def revoked_at(self, sid: str) -> int | None:
        with unavailable(self._c.on_error):
            raw = await self._r.get(self._keys.revoked(sid))
        return int(raw) if raw is not None else None

    async def revoked_at_many(self, sids: Sequence[str]) -> list[int | None]:
        # MGET, a thousand keys at a time (a pipeline of GETs costs ~40 µs of client CPU per key).
        # Markers of different sids sit in different slots: on a cluster, split by slot.
        keys = [self._keys.revoked(sid) for sid in sids]
        raws: list[str | bytes | None] = []
        with unavailable(self._c.on_error):
            for i in range(0, len(keys), _MGET_CHUNK):
                chunk = keys[i : i + _MGET_CHUNK]
                if isinstance(self._r, RedisCluster):
                    raws += await self._r.mget_nonatomic(chunk)
                else:
                    raws += await self._r.mget(chunk)
        return [int(raw) if raw is not None else None for raw in raws]


class RedisSingleUse:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys

    async def use_once(self, key: str, ttl: int) -> bool:
        with unavailable(self._c.on_error):
            fresh = await self._r.set(self._keys.once(key), 1, ex=require_ttl(ttl), nx=True)
        return bool(fresh)
