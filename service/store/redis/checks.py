"""Checks, their attempt counters and each subject's index of checks, in Redis."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from service.store.codec import decode, encode
from service.store.keys import require_ttl
from service.store.records import CheckState
from service.store.redis import set_index
from service.store.redis.connection import Connection, text, unavailable

# Compare-and-set on the version inside the stored JSON; KEEPTTL keeps the check's deadline.
_UPDATE_CHECK = """
local cur = redis.call('GET', KEYS[1])
if not cur or cjson.decode(cur)['version'] ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""

# Count only while below the limit; the TTL is set when the counter is created.
_CLAIM_ATTEMPT = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return false end
n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return n
"""

# Give one back, never below zero and never creating the key; DECR keeps the TTL.
_RELEASE_ATTEMPT = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 0 then return 0 end
return redis.call('DECR', KEYS[1])
"""

# A check and its attempt counter share a hash tag: one slot, one step.
_DROP_CHECK = """
local n = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
return n
"""


class RedisChecks:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys
        self._update_check = conn.r.register_script(_UPDATE_CHECK)
        self._claim_attempt = conn.r.register_script(_CLAIM_ATTEMPT)
        self._release_attempt = conn.r.register_script(_RELEASE_ATTEMPT)
        self._track_check = conn.r.register_script(set_index.ADD)
        self._take_checks = conn.r.register_script(set_index.TAKE)
        self._drop_check = conn.r.register_script(_DROP_CHECK)

    async def create_check(self, check: CheckState, ttl: int) -> None:
        key = self._keys.check(check.check_id)
        with unavailable(self._c.on_error):
            created = await self._r.set(key, encode(check), ex=require_ttl(ttl), nx=True)
        if not created:
            raise ValueError("check id already taken")

    async def get_check(self, check_id: str) -> CheckState | None:
        with unavailable(self._c.on_error):
            raw = await self._r.get(self._keys.check(check_id))
        return decode(CheckState, raw) if raw is not None else None

    async def update_check(self, check: CheckState) -> bool:
        payload = encode(dataclasses.replace(check, version=check.version + 1))
        with unavailable(self._c.on_error):
            won = await self._update_check(
                keys=[self._keys.check(check.check_id)], args=[check.version, payload]
            )
        if won == 1:
            check.version += 1
        return bool(won == 1)

    async def claim_attempt(self, check_id: str, limit: int, ttl: int) -> int | None:
        with unavailable(self._c.on_error):
            count = await self._claim_attempt(
                keys=[self._keys.attempts(check_id)], args=[limit, require_ttl(ttl)]
            )
        return int(count) if count is not None else None

    async def release_attempt(self, check_id: str) -> int:
        with unavailable(self._c.on_error):
            count = await self._release_attempt(keys=[self._keys.attempts(check_id)], args=[])
        return int(count)

    # Checks of a subject --------------------------------------------------------------
    async def track_check(self, sid: str, check_id: str, ttl: int) -> None:
        args: list[str | int] = [check_id, require_ttl(ttl)]
        keys = [self._keys.subject_checks(sid)]
        with unavailable(self._c.on_error):
            await self._track_check(keys=keys, args=args)

    async def subject_checks(self, sid: str) -> list[str]:
        with unavailable(self._c.on_error):
            ids = await self._r.smembers(self._keys.subject_checks(sid))
        return sorted(text(i) for i in ids)

    async def erase_checks(self, sid: str) -> int:
        index = [self._keys.subject_checks(sid)]
        found = 0
        with unavailable(self._c.on_error):
            ids = await self._c.replicated(lambda r: self._take_checks(keys=index, client=r))
            for raw in ids or []:
                check_id = text(raw)
                found += int(await self._c.replicated(self._dropper(check_id)))
        return found

    def _dropper(self, check_id: str) -> Callable[[Any], Awaitable[Any]]:
        keys = [self._keys.check(check_id), self._keys.attempts(check_id)]
        return lambda r: self._drop_check(keys=keys, client=r)
