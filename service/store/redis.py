"""The Redis store. Multi-key atomic steps are Lua scripts on keys that share a hash tag.

Each script touches one key (or keys with one hash tag), so the same calls work on
Redis Cluster. A record and its client's due index live in different slots; their
writes are ordered so that a crash between them errs toward re-checking sooner.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

from redis import exceptions as rx
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from service.store.base import DuePage, Store
from service.store.codec import day_score, decode, encode, score_day
from service.store.errors import StoreUnavailable
from service.store.events import Delivery, QueuedEvent
from service.store.keys import DEFAULT_PREFIX, Keys, require_ttl
from service.store.paging import Position, page_due
from service.store.records import AssuranceRecord, CheckState, Sanction
from service.store.redis_url import connect

_MGET_CHUNK = 1000  # keys per MGET: a batch decision's token subjects, read without a long block

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

# A subject's check index: add and stretch its TTL in one step, so it never lives without one.
_TRACK_CHECK = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""

# Take the whole index in one step: a check indexed afterwards starts a new index, which a
# later erasure finds; none is lost between reading the members and deleting the key.
_TAKE_CHECKS = """
local ids = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
return ids
"""

# A check and its attempt counter share a hash tag: one slot, one step.
_DROP_CHECK = """
local n = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
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

# Compare-and-set of one record: written only while the stored JSON is the expected one ('' for
# none). Records are encoded deterministically, so equal records have equal JSON.
_REPLACE_RECORD = """
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
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

# Stream, retries and dead letters share a hash tag. Every write stretches the written key's
# TTL to the event retention, so none of them lives forever and none expires under a writer.
_STRETCH = """
local function stretch(key, ttl)
  if redis.call('TTL', key) < tonumber(ttl) then redis.call('EXPIRE', key, ttl) end
end
"""

_PUBLISH = (
    _STRETCH
    + """
redis.call('XADD', KEYS[1], '*', 'id', ARGV[2], 'client', ARGV[3], 'type', ARGV[4],
  'body', ARGV[5], 'attempt', ARGV[6])
stretch(KEYS[1], ARGV[1])
return 1
"""
)

# Settle an entry (ack and delete) and, if this call settled it, move the event on. An entry
# someone else already settled is left alone, so a retry is never queued twice.
_SETTLE = (
    _STRETCH
    + """
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if n == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
if ARGV[3] == 'retry' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
  stretch(KEYS[2], ARGV[6])
elseif ARGV[3] == 'dead' then
  redis.call('LPUSH', KEYS[3], ARGV[5])
  redis.call('LTRIM', KEYS[3], 0, 9999)
  stretch(KEYS[3], ARGV[6])
end
return 1
"""
)

# Due retries go back onto the stream in one step, so two workers never both release one.
_RELEASE = (
    _STRETCH
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[2], m)
  local e = cjson.decode(m)
  redis.call('XADD', KEYS[1], '*', 'id', e['id'], 'client', e['client'], 'type', e['type'],
    'body', e['body'], 'attempt', e['attempt'])
end
if #due > 0 then stretch(KEYS[1], math.max(redis.call('TTL', KEYS[2]), 60)) end
return #due
"""
)


# Erasure: every event whose data names the sid, from the stream (acked in every group first,
# so no consumer is handed it again), the retry set and the dead letters, in one step. The
# stream holds only events not yet settled, so the scan is short.
_ERASE_EVENTS = """
local sid = ARGV[1]
local function names(body)
  local ok, b = pcall(cjson.decode, body)
  return ok and type(b) == 'table' and type(b['data']) == 'table' and b['data']['sid'] == sid
end
local function member_names(m)
  local ok, e = pcall(cjson.decode, m)
  return ok and type(e) == 'table' and type(e['body']) == 'string' and names(e['body'])
end
local n = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  local groups = {}
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    for i = 1, #g, 2 do
      if g[i] == 'name' then table.insert(groups, g[i + 1]) end
    end
  end
  for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
    local f = e[2]
    for i = 1, #f, 2 do
      if f[i] == 'body' and names(f[i + 1]) then
        for _, g in ipairs(groups) do redis.call('XACK', KEYS[1], g, e[1]) end
        redis.call('XDEL', KEYS[1], e[1])
        n = n + 1
      end
    end
  end
end
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if member_names(m) then n = n + redis.call('ZREM', KEYS[2], m) end
end
for _, m in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  if member_names(m) then n = n + redis.call('LREM', KEYS[3], 0, m) end
end
return n
"""


def _event_json(event: QueuedEvent) -> str:
    return json.dumps(event.fields(), separators=(",", ":"), sort_keys=True)


def _fields(raw: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    # The injected client may or may not decode responses.
    return value.decode() if isinstance(value, bytes) else value


@contextmanager
def _unavailable(on_error: Callable[[str], None] | None = None) -> Iterator[None]:
    """Connection trouble becomes StoreUnavailable (503) carrying no key or value."""
    try:
        yield
    except (rx.ConnectionError, rx.TimeoutError) as exc:
        if on_error is not None:
            on_error(type(exc).__name__)
        # The detail may reach API clients: the error class only, no host, key or value.
        # ``from None`` keeps the failing command (keys, payloads) out of chained tracebacks.
        raise StoreUnavailable(f"the store cannot be reached ({type(exc).__name__})") from None


class RedisStore:
    """Takes ownership of ``client``: ``close`` closes it."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        prefix: str = DEFAULT_PREFIX,
        *,
        on_error: Callable[[str], None] | None = None,
        min_replicas_ack: int = 0,
        replica_ack_timeout_ms: int = 500,
    ) -> None:
        if min_replicas_ack and isinstance(client, RedisCluster):
            # WAIT must follow the write on the same connection to the same node.
            raise ValueError("min_replicas_ack needs one server or Sentinel, not Redis Cluster")
        self._r = client
        self._on_error = on_error  # told the error class of every failure (for metrics)
        # Revocations and erasures are acknowledged only once this many replicas hold them,
        # so a failover to a replica cannot revive revoked tokens or erased records.
        self._min_replicas = min_replicas_ack
        self._ack_timeout_ms = replica_ack_timeout_ms
        self._keys = Keys(prefix)
        self._update_check = client.register_script(_UPDATE_CHECK)
        self._claim_attempt = client.register_script(_CLAIM_ATTEMPT)
        self._release_attempt = client.register_script(_RELEASE_ATTEMPT)
        self._index = client.register_script(_INDEX)
        self._revoke = client.register_script(_REVOKE)
        self._due_page = client.register_script(_DUE_PAGE)
        self._count_hit = client.register_script(_COUNT_HIT)
        self._add_distinct = client.register_script(_ADD_DISTINCT)
        self._publish = client.register_script(_PUBLISH)
        self._settle = client.register_script(_SETTLE)
        self._release = client.register_script(_RELEASE)
        self._erase_events = client.register_script(_ERASE_EVENTS)
        self._replace_record = client.register_script(_REPLACE_RECORD)
        self._track_check = client.register_script(_TRACK_CHECK)
        self._take_checks = client.register_script(_TAKE_CHECKS)
        self._drop_check = client.register_script(_DROP_CHECK)

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        *,
        on_error: Callable[[str], None] | None = None,
        min_replicas_ack: int = 0,
        replica_ack_timeout_ms: int = 500,
    ) -> RedisStore:
        return cls(  # one server, Sentinel or Cluster
            connect(url),
            prefix,
            on_error=on_error,
            min_replicas_ack=min_replicas_ack,
            replica_ack_timeout_ms=replica_ack_timeout_ms,
        )

    async def _replicated(self, write: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run ``write`` and, when replicas must acknowledge, WAIT for them on the same
        connection (WAIT covers only its own connection's writes, hence the pipeline)."""
        if not self._min_replicas:
            return await write(self._r)
        async with self._r.pipeline(transaction=False) as pipe:
            await write(pipe)
            pipe.execute_command("WAIT", self._min_replicas, self._ack_timeout_ms)
            *results, acked = await pipe.execute()
        if int(acked) < self._min_replicas:
            if self._on_error is not None:
                self._on_error("ReplicaAckTimeout")
            # Applied on the primary but not promised: the caller sees a failure and retries.
            raise StoreUnavailable("the write was not acknowledged by enough replicas in time")
        return results[0]

    # Checks -----------------------------------------------------------------------
    async def create_check(self, check: CheckState, ttl: int) -> None:
        key = self._keys.check(check.check_id)
        with _unavailable(self._on_error):
            created = await self._r.set(key, encode(check), ex=require_ttl(ttl), nx=True)
        if not created:
            raise ValueError("check id already taken")

    async def get_check(self, check_id: str) -> CheckState | None:
        with _unavailable(self._on_error):
            raw = await self._r.get(self._keys.check(check_id))
        return decode(CheckState, raw) if raw is not None else None

    async def update_check(self, check: CheckState) -> bool:
        payload = encode(dataclasses.replace(check, version=check.version + 1))
        with _unavailable(self._on_error):
            won = await self._update_check(
                keys=[self._keys.check(check.check_id)], args=[check.version, payload]
            )
        if won == 1:
            check.version += 1
        return bool(won == 1)

    async def claim_attempt(self, check_id: str, limit: int, ttl: int) -> int | None:
        with _unavailable(self._on_error):
            count = await self._claim_attempt(
                keys=[self._keys.attempts(check_id)], args=[limit, require_ttl(ttl)]
            )
        return int(count) if count is not None else None

    async def release_attempt(self, check_id: str) -> int:
        with _unavailable(self._on_error):
            count = await self._release_attempt(keys=[self._keys.attempts(check_id)], args=[])
        return int(count)

    # Checks of a subject --------------------------------------------------------------
    async def track_check(self, sid: str, check_id: str, ttl: int) -> None:
        args: list[str | int] = [check_id, require_ttl(ttl)]
        keys = [self._keys.subject_checks(sid)]
        with _unavailable(self._on_error):
            await self._track_check(keys=keys, args=args)

    async def subject_checks(self, sid: str) -> list[str]:
        with _unavailable(self._on_error):
            ids = await self._r.smembers(self._keys.subject_checks(sid))
        return sorted(_text(i) for i in ids)

    async def erase_checks(self, sid: str) -> int:
        index = [self._keys.subject_checks(sid)]
        found = 0
        with _unavailable(self._on_error):
            ids = await self._replicated(lambda r: self._take_checks(keys=index, client=r))
            for raw in ids or []:
                check_id = _text(raw)
                found += int(await self._replicated(self._dropper(check_id)))
        return found

    def _dropper(self, check_id: str) -> Callable[[Any], Awaitable[Any]]:
        keys = [self._keys.check(check_id), self._keys.attempts(check_id)]
        return lambda r: self._drop_check(keys=keys, client=r)

    # Records ----------------------------------------------------------------------
    async def put_record(self, record: AssuranceRecord, ttl: int) -> None:
        # 1. index, only ever moving an entry earlier; 2. the record; 3. the index at the
        # record's date. Stopping after 1 or 2 leaves the index at or before the record.
        due_key = self._keys.due(record.client_id)
        args: list[int | str] = [day_score(record.recheck_at), record.sid, require_ttl(ttl)]
        with _unavailable(self._on_error):
            await self._index(keys=[due_key], args=[*args, "LT"])
            await self._r.set(self._keys.record(record.sid), encode(record), ex=ttl)
            await self._index(keys=[due_key], args=[*args, "SET"])

    async def replace_record(
        self, expected: AssuranceRecord | None, record: AssuranceRecord, ttl: int
    ) -> bool:
        # As put_record: the index moves earlier first (harmless if the swap then loses: a
        # re-check listed early errs toward checking sooner), and to the record's date after.
        due_key = self._keys.due(record.client_id)
        args: list[int | str] = [day_score(record.recheck_at), record.sid, require_ttl(ttl)]
        old = encode(expected) if expected is not None else ""
        with _unavailable(self._on_error):
            await self._index(keys=[due_key], args=[*args, "LT"])
            swapped = await self._replace_record(
                keys=[self._keys.record(record.sid)], args=[old, encode(record), ttl]
            )
            if swapped:
                await self._index(keys=[due_key], args=[*args, "SET"])
        return bool(swapped)

    async def get_record(self, sid: str) -> AssuranceRecord | None:
        with _unavailable(self._on_error):
            raw = await self._r.get(self._keys.record(sid))
        return decode(AssuranceRecord, raw) if raw is not None else None

    async def delete_record(self, sid: str, client_id: str) -> bool:
        # Record first: a crash in between leaves a stale index entry, which due() drops.
        record_key = self._keys.record(sid)
        with _unavailable(self._on_error):
            deleted = await self._replicated(lambda r: r.delete(record_key))
            await self._r.zrem(self._keys.due(client_id), sid)
        return bool(deleted == 1)

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

        with _unavailable(self._on_error):
            return await page_due(client_id, before, cursor, limit, scan=scan, load=load, drop=drop)

    # Revocation -------------------------------------------------------------------
    async def revoke(self, sid: str, revoked_at: int, ttl: int) -> None:
        keys, args = [self._keys.revoked(sid)], [revoked_at, require_ttl(ttl)]
        with _unavailable(self._on_error):
            await self._replicated(lambda r: self._revoke(keys=keys, args=args, client=r))

    async def revoked_at(self, sid: str) -> int | None:
        with _unavailable(self._on_error):
            raw = await self._r.get(self._keys.revoked(sid))
        return int(raw) if raw is not None else None

    async def revoked_at_many(self, sids: Sequence[str]) -> list[int | None]:
        # MGET, a thousand keys at a time (a pipeline of GETs costs ~40 µs of client CPU per key).
        # Markers of different sids sit in different slots: on a cluster, split by slot.
        keys = [self._keys.revoked(sid) for sid in sids]
        raws: list[str | bytes | None] = []
        with _unavailable(self._on_error):
            for i in range(0, len(keys), _MGET_CHUNK):
                chunk = keys[i : i + _MGET_CHUNK]
                if isinstance(self._r, RedisCluster):
                    raws += await self._r.mget_nonatomic(chunk)
                else:
                    raws += await self._r.mget(chunk)
        return [int(raw) if raw is not None else None for raw in raws]

    # Single use -------------------------------------------------------------------
    async def use_once(self, key: str, ttl: int) -> bool:
        with _unavailable(self._on_error):
            fresh = await self._r.set(self._keys.once(key), 1, ex=require_ttl(ttl), nx=True)
        return bool(fresh)

    # Abuse counters -------------------------------------------------------------
    async def count_hit(self, scope: str, subject: str, ttl: int) -> int:
        with _unavailable():
            n = await self._count_hit(keys=[self._keys.counter(scope, subject)], args=[require_ttl(ttl)])
        return int(n)

    async def peek_count(self, scope: str, subject: str) -> int:
        with _unavailable():
            raw = await self._r.get(self._keys.counter(scope, subject))
        return int(raw) if raw is not None else 0

    async def add_distinct(self, scope: str, subject: str, member: str, ttl: int) -> int:
        key = self._keys.distinct(scope, subject)
        with _unavailable():
            n = await self._add_distinct(keys=[key], args=[member, require_ttl(ttl)])
        return int(n)

    async def clear_counters(self, subject: str, scopes: list[str]) -> None:
        keys = [k for s in scopes for k in (self._keys.counter(s, subject), self._keys.distinct(s, subject))]
        if keys:
            with _unavailable():
                await self._replicated(lambda r: r.delete(*keys))  # one hash tag: one slot

    # Sanctions --------------------------------------------------------------------
    async def put_sanction(self, sanction: Sanction, ttl: int) -> None:
        with _unavailable():
            await self._r.set(self._keys.sanction(sanction.sid), encode(sanction), ex=require_ttl(ttl))

    async def get_sanction(self, sid: str) -> Sanction | None:
        with _unavailable():
            raw = await self._r.get(self._keys.sanction(sid))
        return decode(Sanction, raw) if raw is not None else None

    async def clear_sanction(self, sid: str) -> None:
        key = self._keys.sanction(sid)
        with _unavailable():
            await self._replicated(lambda r: r.delete(key))

    async def put_device_sanction(self, device: str, sanction: Sanction, ttl: int) -> None:
        with _unavailable():
            await self._r.set(self._keys.device_sanction(device), encode(sanction), ex=require_ttl(ttl))

    async def get_device_sanction(self, device: str) -> Sanction | None:
        with _unavailable():
            raw = await self._r.get(self._keys.device_sanction(device))
        return decode(Sanction, raw) if raw is not None else None

    # Lifecycle timers -------------------------------------------------------------
    async def schedule(self, client_id: str, sid: str, at: date, ttl: int) -> None:
        with _unavailable():
            await self._index(
                keys=[self._keys.timers(client_id)], args=[day_score(at), sid, require_ttl(ttl), "SET"]
            )

    async def timers_due(self, client_id: str, before: date, limit: int) -> list[tuple[str, date]]:
        with _unavailable():
            rows: list[Any] = await self._r.zrangebyscore(
                self._keys.timers(client_id), "-inf", f"({day_score(before)}", start=0, num=limit,
                withscores=True,
            )  # fmt: skip
        return [(_text(sid), score_day(float(score))) for sid, score in rows]

    async def unschedule(self, client_id: str, sid: str) -> None:
        key = self._keys.timers(client_id)
        with _unavailable():
            await self._replicated(lambda r: r.zrem(key, sid))

    # Event stream -------------------------------------------------------------------
    def _event_keys(self) -> list[str]:
        return [self._keys.events(), self._keys.retries(), self._keys.dead()]

    async def publish_event(self, event: QueuedEvent, ttl: int) -> None:
        f = event.fields()
        args: list[str | int] = [require_ttl(ttl), f["id"], f["client"], f["type"], f["body"], f["attempt"]]
        with _unavailable():
            await self._publish(keys=[self._keys.events()], args=args)

    async def erase_events(self, sid: str) -> int:
        with _unavailable():
            n = await self._erase_events(keys=self._event_keys(), args=[sid])
        return int(n)

    async def ensure_group(self, group: str) -> None:
        # No MKSTREAM: a stream made here would have no TTL. Publishing creates the stream.
        with _unavailable():
            if not await self._r.exists(self._keys.events()):
                return
            try:
                await self._r.xgroup_create(self._keys.events(), group, id="0")
            except rx.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def _deliveries(self, rows: list[Any], redelivered: bool) -> list[Delivery]:
        out = []
        for entry_id, raw in rows:
            if not raw:  # deleted while pending
                continue
            out.append(Delivery(_text(entry_id), QueuedEvent.from_fields(_fields(raw)), redelivered))
        return out

    async def read_events(self, group: str, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        with _unavailable():
            try:
                got: Any = await self._r.xreadgroup(
                    group, consumer, {self._keys.events(): ">"}, count=count, block=block_ms or None
                )
            except rx.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                await self.ensure_group(group)  # the stream expired or was never read
                return []
        return [d for _, rows in got or [] for d in self._deliveries(rows, False)]

    async def read_own_pending(self, group: str, consumer: str, count: int) -> list[Delivery]:
        with _unavailable():
            try:
                got: Any = await self._r.xreadgroup(group, consumer, {self._keys.events(): "0"}, count=count)
            except rx.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                return []
        return [d for _, rows in got or [] for d in self._deliveries(rows, True)]

    async def claim_stale(self, group: str, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]:
        with _unavailable():
            try:
                got: list[Any] = await self._r.xautoclaim(
                    self._keys.events(), group, consumer, min_idle_ms, start_id="0-0", count=count
                )
            except rx.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                return []
        return self._deliveries(got[1], True)

    async def hand_back(self, group: str, consumer: str, entry_ids: list[str], idle_ms: int) -> None:
        if not entry_ids:
            return
        # XCLAIM to itself with IDLE backdates the entries; JUSTID leaves the delivery count alone.
        ids: list[Any] = list(entry_ids)
        with _unavailable():
            try:
                await self._r.xclaim(self._keys.events(), group, consumer, 0, ids, idle=idle_ms, justid=True)
            except rx.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise

    async def ack_event(self, group: str, entry_id: str) -> None:
        with _unavailable():
            await self._settle(keys=self._event_keys(), args=[group, entry_id, "ack"])

    async def retry_event(self, group: str, entry_id: str, event: QueuedEvent, at_ms: int, ttl: int) -> None:
        args: list[str | int] = [group, entry_id, "retry", at_ms, _event_json(event), require_ttl(ttl)]
        with _unavailable():
            await self._settle(keys=self._event_keys(), args=args)

    async def dead_letter(self, group: str, entry_id: str, event: QueuedEvent, ttl: int) -> None:
        args: list[str | int] = [group, entry_id, "dead", 0, _event_json(event), require_ttl(ttl)]
        with _unavailable():
            await self._settle(keys=self._event_keys(), args=args)

    async def release_retries(self, now_ms: int, limit: int) -> int:
        with _unavailable():
            n = await self._release(keys=self._event_keys()[:2], args=[now_ms, limit])
        return int(n)

    async def dead_letters(self, limit: int) -> list[QueuedEvent]:
        with _unavailable():
            raws = await self._r.lrange(self._keys.dead(), 0, limit - 1)
        return [QueuedEvent.from_fields(json.loads(r)) for r in raws]

    # Operations -------------------------------------------------------------------
    async def ping(self) -> None:
        with _unavailable(self._on_error):
            await self._r.ping()

    async def close(self) -> None:
        await self._r.aclose()


if TYPE_CHECKING:
    _conforms: type[Store] = RedisStore  # mypy proves the class satisfies the protocol
