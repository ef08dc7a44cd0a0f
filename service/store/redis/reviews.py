"""Re-check requests and appeals, in Redis."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from service.store.codec import decode, encode
from service.store.keys import require_ttl
from service.store.redis.connection import Connection as Connection_
from service.store.redis.connection import text, unavailable
from service.store.reviews import Appeal, Connection, GuardianCode, GuardianLink, RecheckRequest


class RedisRechecks:
    def __init__(self, conn: Connection_) -> None:
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
    def __init__(self, conn: Connection_) -> None:
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


class RedisGuardians:
    def __init__(self, conn: Connection_) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys

    async def put_code(self, code_ref: str, code: GuardianCode, ttl: int) -> None:
        key, value = self._keys.guardian_code(code_ref), encode(code)
        with unavailable(self._c.on_error):
            await self._r.set(key, value, ex=require_ttl(ttl))

    async def take_code(self, code_ref: str) -> GuardianCode | None:
        key = self._keys.guardian_code(code_ref)
        with unavailable(self._c.on_error):
            raw = await self._c.replicated(lambda r: r.getdel(key))
        return decode(GuardianCode, raw) if raw is not None else None

    async def add_link(
        self, link: str, child_sid: str, guardian_sid: str, value: GuardianLink, ttl: int
    ) -> None:
        name, body = self._keys.guardian_link(link), encode(value)
        indexes = [self._keys.guardian_links(sid) for sid in (child_sid, guardian_sid)]
        with unavailable(self._c.on_error):
            # The link first: an index never names a link that was not written.
            await self._c.replicated(lambda r: r.set(name, body, ex=require_ttl(ttl)))
            for index in indexes:  # each index in its own slot (its sid's tag)
                async with self._r.pipeline(transaction=True) as pipe:
                    pipe.sadd(index, link)
                    pipe.expire(index, ttl, gt=True)
                    pipe.expire(index, ttl, nx=True)
                    await pipe.execute()

    async def live_links(self, sid: str) -> list[str]:
        with unavailable(self._c.on_error):
            members = sorted(text(m) for m in await self._r.smembers(self._keys.guardian_links(sid)))
            if not members:
                return []
            async with self._r.pipeline(transaction=False) as pipe:
                for link in members:
                    pipe.exists(self._keys.guardian_link(link))
                alive = await pipe.execute()
        return [link for link, n in zip(members, alive, strict=True) if n]

    async def link_values(self, sid: str) -> list[GuardianLink]:
        with unavailable(self._c.on_error):
            members = sorted(text(m) for m in await self._r.smembers(self._keys.guardian_links(sid)))
            if not members:
                return []
            async with self._r.pipeline(transaction=False) as pipe:  # each link in its own slot
                for link in members:
                    pipe.get(self._keys.guardian_link(link))
                raws: list[str | bytes | None] = await pipe.execute()
        # Links written before they held a value are the marker "1": they confirm nothing now.
        return [decode(GuardianLink, raw) for raw in raws if raw is not None and text(raw).startswith("{")]

    @staticmethod
    def _deleter(name: str) -> Callable[[Any], Awaitable[Any]]:
        return lambda r: r.delete(name)

    async def erase_links(self, sid: str) -> int:
        index = self._keys.guardian_links(sid)
        with unavailable(self._c.on_error):
            members = [text(m) for m in await self._r.smembers(index)]
            existed = 0
            for link in members:  # each link in its own slot
                existed += int(await self._c.replicated(self._deleter(self._keys.guardian_link(link))))
            await self._c.replicated(lambda r: r.delete(index))
        return existed


class RedisConnections:
    def __init__(self, conn: Connection_) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys

    async def put_connection(
        self, nonce_ref: str, connection: Connection, sids: Sequence[str], ttl: int
    ) -> None:
        name, value = self._keys.connection(nonce_ref), encode(connection)
        with unavailable(self._c.on_error):
            for sid in sids:  # the indexes first: erasure can always find what exists
                async with self._r.pipeline(transaction=True) as pipe:
                    index = self._keys.connections(sid)
                    pipe.sadd(index, nonce_ref)
                    pipe.expire(index, require_ttl(ttl), gt=True)
                    pipe.expire(index, ttl, nx=True)
                    await pipe.execute()
            await self._c.replicated(lambda r: r.set(name, value, ex=ttl))

    async def get_connection(self, nonce_ref: str) -> Connection | None:
        with unavailable(self._c.on_error):
            raw = await self._r.get(self._keys.connection(nonce_ref))
        return decode(Connection, raw) if raw is not None else None

    async def erase_connections(self, sid: str) -> int:
        index = self._keys.connections(sid)
        with unavailable(self._c.on_error):
            refs = [text(m) for m in await self._r.smembers(index)]
            existed = 0
            for ref in refs:  # each connection in its own slot
                existed += int(await self._c.replicated(RedisGuardians._deleter(self._keys.connection(ref))))
            await self._c.replicated(lambda r: r.delete(index))
        return existed
