"""The webhook event stream, in Redis: a stream with consumer groups, a retry sorted set and a
dead-letter list, sharing one hash tag so every multi-key step is one script on one slot."""

from __future__ import annotations

import json
from typing import Any

from redis import exceptions as rx

from service.store.events import Delivery, QueuedEvent
from service.store.keys import require_ttl
from service.store.redis.connection import Connection, text, unavailable

# Every write stretches the written key's TTL to the event retention, so none of them lives
# forever and none expires under a writer.
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
    return {text(k): text(v) for k, v in raw.items()}


class RedisEvents:
    def __init__(self, conn: Connection) -> None:
        self._r = conn.r
        self._keys = conn.keys
        self._publish = conn.r.register_script(_PUBLISH)
        self._settle = conn.r.register_script(_SETTLE)
        self._release = conn.r.register_script(_RELEASE)
        self._erase_events = conn.r.register_script(_ERASE_EVENTS)

    def _event_keys(self) -> list[str]:
        return [self._keys.events(), self._keys.retries(), self._keys.dead()]

    async def publish_event(self, event: QueuedEvent, ttl: int) -> None:
        f = event.fields()
        args: list[str | int] = [require_ttl(ttl), f["id"], f["client"], f["type"], f["body"], f["attempt"]]
        with unavailable():
            await self._publish(keys=[self._keys.events()], args=args)

    async def erase_events(self, sid: str) -> int:
        with unavailable():
            n = await self._erase_events(keys=self._event_keys(), args=[sid])
        return int(n)

    async def ensure_group(self, group: str) -> None:
        # No MKSTREAM: a stream made here would have no TTL. Publishing creates the stream.
        with unavailable():
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
            out.append(Delivery(text(entry_id), QueuedEvent.from_fields(_fields(raw)), redelivered))
        return out

    async def read_events(self, group: str, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        with unavailable():
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
        with unavailable():
            try:
                got: Any = await self._r.xreadgroup(group, consumer, {self._keys.events(): "0"}, count=count)
            except rx.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                return []
        return [d for _, rows in got or [] for d in self._deliveries(rows, True)]

    async def claim_stale(self, group: str, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]:
        with unavailable():
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
        with unavailable():
            try:
                await self._r.xclaim(self._keys.events(), group, consumer, 0, ids, idle=idle_ms, justid=True)
            except rx.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise

    async def ack_event(self, group: str, entry_id: str) -> None:
        with unavailable():
            await self._settle(keys=self._event_keys(), args=[group, entry_id, "ack"])

    async def retry_event(self, group: str, entry_id: str, event: QueuedEvent, at_ms: int, ttl: int) -> None:
        args: list[str | int] = [group, entry_id, "retry", at_ms, _event_json(event), require_ttl(ttl)]
        with unavailable():
            await self._settle(keys=self._event_keys(), args=args)

    async def dead_letter(self, group: str, entry_id: str, event: QueuedEvent, ttl: int) -> None:
        args: list[str | int] = [group, entry_id, "dead", 0, _event_json(event), require_ttl(ttl)]
        with unavailable():
            await self._settle(keys=self._event_keys(), args=args)

    async def release_retries(self, now_ms: int, limit: int) -> int:
        with unavailable():
            n = await self._release(keys=self._event_keys()[:2], args=[now_ms, limit])
        return int(n)

    async def dead_letters(self, limit: int) -> list[QueuedEvent]:
        with unavailable():
            raws = await self._r.lrange(self._keys.dead(), 0, limit - 1)
        return [QueuedEvent.from_fields(json.loads(r)) for r in raws]
