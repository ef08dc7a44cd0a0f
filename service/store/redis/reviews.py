"""Re-check requests and appeals, in Redis."""

from __future__ import annotations

from collections.abc import Sequence

from service.store.codec import decode, encode
from service.store.keys import require_ttl
from service.store.redis.connection import Connection, unavailable
from service.store.reviews import Appeal, RecheckRequest


class RedisRechecks:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys

    async def put_recheck(self, request: RecheckRequest, ttl: int) -> None:
        key, value = self._keys.recheck_request(request.sid), encode(request)
        with unavailable(self._c.on_error):
            await self._c.replicated(lambda r: r.set(key, value, ex=require_ttl(ttl)))

    async def get_recheck(self, sid: str) -> RecheckRequest | None:
        with unavailable(self._c.on_error):
            raw = await self._r.get(self._keys.recheck_request(sid))
        return decode(RecheckRequest, raw) if raw is not None else None

    async def rechecks_of(self, sids: Sequence[str]) -> list[RecheckRequest | None]:
        if not sids:
            return []
        # Requests of different sids sit in different slots: one pipeline, no MGET.
        with unavailable(self._c.on_error):
            async with self._r.pipeline(transaction=False) as pipe:
                for sid in sids:
                    pipe.get(self._keys.recheck_request(sid))
                raws: list[str | bytes | None] = await pipe.execute()
        return [decode(RecheckRequest, raw) if raw is not None else None for raw in raws]

    async def clear_recheck(self, sid: str) -> None:
        key = self._keys.recheck_request(sid)
        with unavailable(self._c.on_error):
            await self._c.replicated(lambda r: r.delete(key))


class RedisAppeals:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys

    async def put_appeal(self, appeal: Appeal, ttl: int) -> None:
        key, value = self._keys.appeal(appeal.sid), encode(appeal)
        with unavailable(self._c.on_error):
            await self._c.replicated(lambda r: r.set(key, value, ex=require_ttl(ttl)))

    async def get_appeal(self, sid: str) -> Appeal | None:
        with unavailable(self._c.on_error):
            raw = await self._r.get(self._keys.appeal(sid))
        return decode(Appeal, raw) if raw is not None else None

    async def clear_appeal(self, sid: str) -> None:
        key = self._keys.appeal(sid)
        with unavailable(self._c.on_error):
            await self._c.replicated(lambda r: r.delete(key))
