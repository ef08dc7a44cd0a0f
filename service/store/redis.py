"""The Redis store. Multi-key atomic steps are Lua scripts on keys that share a hash tag.

Each script touches one key (or keys with one hash tag), so the same calls work on
Redis Cluster. A record and its client's due index live in different slots; their
writes are ordered so that a crash between them errs toward re-checking sooner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

from redis import exceptions as rx
from redis.asyncio import Redis

from service.store.base import DuePage, Store
from service.store.codec import day_score, decode, encode, score_day
from service.store.errors import StoreUnavailable
from service.store.keys import DEFAULT_PREFIX, Keys, require_ttl
from service.store.paging import Position, page_due
from service.store.records import AssuranceRecord, CheckState

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

# Index a sid and stretch the index TTL to cover it, in one step so the index never
# exists without a TTL. With 'LT' an existing entry only moves earlier.
_INDEX = """
if ARGV[4] == 'LT' then
  redis.call('ZADD', KEYS[1], 'LT', ARGV[1], ARGV[2])
else
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
end
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 1
"""

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

# One page of the due index after (score, member), exclusive, with score < bound.
# Sorted sets order equal scores by member bytes; the binary search over ranks finds the
# first member after the cursor in O(log n) however many entries share its day. Lua's
# own string comparison follows the server locale, so bytes are compared one by one.
_DUE_PAGE = """
local function after(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end
local key, bound, count = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local start = 0
if ARGV[3] then
  local lo = redis.call('ZCOUNT', key, '-inf', '(' .. ARGV[3])
  local hi = redis.call('ZCOUNT', key, '-inf', ARGV[3])
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if after(redis.call('ZRANGE', key, mid, mid)[1], ARGV[4]) then hi = mid else lo = mid + 1 end
  end
  start = lo
end
local out = {}
local page = redis.call('ZRANGE', key, start, start + count - 1, 'WITHSCORES')
for i = 1, #page, 2 do
  if tonumber(page[i + 1]) >= bound then break end
  out[#out + 1] = page[i]
  out[#out + 1] = page[i + 1]
end
return out
"""


def _text(value: bytes | str) -> str:
    # The injected client may or may not decode responses.
    return value.decode() if isinstance(value, bytes) else value


@contextmanager
def _unavailable() -> Iterator[None]:
    """Connection trouble becomes StoreUnavailable (503) carrying no key or value."""
    try:
        yield
    except (rx.ConnectionError, rx.TimeoutError) as exc:
        # The detail may reach API clients: the error class only, no host, key or value.
        # ``from None`` keeps the failing command (keys, payloads) out of chained tracebacks.
        raise StoreUnavailable(f"the store cannot be reached ({type(exc).__name__})") from None


class RedisStore:
    """Takes ownership of ``client``: ``close`` closes it."""

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._r = client
        self._keys = Keys(prefix)
        self._update_check = client.register_script(_UPDATE_CHECK)
        self._claim_attempt = client.register_script(_CLAIM_ATTEMPT)
        self._index = client.register_script(_INDEX)
        self._revoke = client.register_script(_REVOKE)
        self._due_page = client.register_script(_DUE_PAGE)

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX) -> RedisStore:
        return cls(Redis.from_url(url), prefix)

    # Checks -----------------------------------------------------------------------
    async def create_check(self, check: CheckState, ttl: int) -> None:
        key = self._keys.check(check.check_id)
        with _unavailable():
            created = await self._r.set(key, encode(check), ex=require_ttl(ttl), nx=True)
        if not created:
            raise ValueError("check id already taken")

    async def get_check(self, check_id: str) -> CheckState | None:
        with _unavailable():
            raw = await self._r.get(self._keys.check(check_id))
        return decode(CheckState, raw) if raw is not None else None

    async def update_check(self, check: CheckState) -> bool:
        payload = encode(dataclasses.replace(check, version=check.version + 1))
        with _unavailable():
            won = await self._update_check(
                keys=[self._keys.check(check.check_id)], args=[check.version, payload]
            )
        if won == 1:
            check.version += 1
        return bool(won == 1)

    async def claim_attempt(self, check_id: str, limit: int, ttl: int) -> int | None:
        with _unavailable():
            count = await self._claim_attempt(
                keys=[self._keys.attempts(check_id)], args=[limit, require_ttl(ttl)]
            )
        return int(count) if count is not None else None

    # Records ----------------------------------------------------------------------
    async def put_record(self, record: AssuranceRecord, ttl: int) -> None:
        # 1. index, only ever moving an entry earlier; 2. the record; 3. the index at the
        # record's date. Stopping after 1 or 2 leaves the index at or before the record.
        due_key = self._keys.due(record.client_id)
        args: list[int | str] = [day_score(record.recheck_at), record.sid, require_ttl(ttl)]
        with _unavailable():
            await self._index(keys=[due_key], args=[*args, "LT"])
            await self._r.set(self._keys.record(record.sid), encode(record), ex=ttl)
            await self._index(keys=[due_key], args=[*args, "SET"])

    async def get_record(self, sid: str) -> AssuranceRecord | None:
        with _unavailable():
            raw = await self._r.get(self._keys.record(sid))
        return decode(AssuranceRecord, raw) if raw is not None else None

    async def delete_record(self, sid: str, client_id: str) -> bool:
        # Record first: a crash in between leaves a stale index entry, which due() drops.
        with _unavailable():
            deleted = await self._r.delete(self._keys.record(sid))
            await self._r.zrem(self._keys.due(client_id), sid)
        return deleted == 1

    async def due(self, client_id: str, before: date, cursor: str | None, limit: int) -> DuePage:
        due_key = self._keys.due(client_id)

        async def scan(after: Position | None, bound: date, count: int) -> list[Position]:
            args: list[str | int] = [day_score(bound), count]
            if after is not None:
                args += [day_score(after[0]), after[1]]
            flat = await self._due_page(keys=[due_key], args=args)
            return [(score_day(float(flat[i + 1])), _text(flat[i])) for i in range(0, len(flat), 2)]

        async def load(sids: list[str]) -> Sequence[str | bytes | None]:
            # Records of different sids sit in different slots: no MGET, one pipeline.
            async with self._r.pipeline(transaction=False) as pipe:
                for sid in sids:
                    pipe.get(self._keys.record(sid))
                raws: list[str | bytes | None] = await pipe.execute()
            return raws

        async def drop(sids: list[str]) -> None:
            await self._r.zrem(due_key, *sids)

        with _unavailable():
            return await page_due(client_id, before, cursor, limit, scan=scan, load=load, drop=drop)

    # Revocation -------------------------------------------------------------------
    async def revoke(self, sid: str, revoked_at: int, ttl: int) -> None:
        with _unavailable():
            await self._revoke(keys=[self._keys.revoked(sid)], args=[revoked_at, require_ttl(ttl)])

    async def revoked_at(self, sid: str) -> int | None:
        with _unavailable():
            raw = await self._r.get(self._keys.revoked(sid))
        return int(raw) if raw is not None else None

    # Single use -------------------------------------------------------------------
    async def use_once(self, key: str, ttl: int) -> bool:
        with _unavailable():
            fresh = await self._r.set(self._keys.once(key), 1, ex=require_ttl(ttl), nx=True)
        return bool(fresh)

    # Operations -------------------------------------------------------------------
    async def ping(self) -> None:
        with _unavailable():
            await self._r.ping()

    async def close(self) -> None:
        await self._r.aclose()


if TYPE_CHECKING:
    _conforms: type[Store] = RedisStore  # mypy proves the class satisfies the protocol
