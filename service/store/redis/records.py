"""Assurance records and each client's due index, in Redis.

A record and its client's due index live in different slots; their writes are ordered so
that a crash between them errs toward re-checking sooner.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from service.store.codec import day_score, encode, score_day
from service.store.keys import require_ttl
from service.store.paging import Position, page_due
from service.store.record_codec import decode_record, encode_record
from service.store.records import AssuranceRecord
from service.store.redis.connection import INDEX, Connection, text, unavailable
from service.store.roles import DuePage

# Compare-and-set of one record: written only while the stored payload is the expected one ('' for
# none), packed (ARGV[1]) or, as written before records were packed, JSON (ARGV[4]). Records are
# encoded deterministically either way, so equal records have equal payloads.
_REPLACE_RECORD = """
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] and cur ~= ARGV[4] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
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


class RedisRecords:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys
        self._index = conn.r.register_script(INDEX)
        self._due_page = conn.r.register_script(_DUE_PAGE)
        self._replace_record = conn.r.register_script(_REPLACE_RECORD)

    async def put_record(self, record: AssuranceRecord, ttl: int) -> None:
        # 1. index, only ever moving an entry earlier; 2. the record; 3. the index at the
        # record's date. Stopping after 1 or 2 leaves the index at or before the record.
        due_key = self._keys.due(record.client_id)
        args: list[int | str] = [day_score(record.recheck_at), record.sid, require_ttl(ttl)]
        with unavailable(self._c.on_error):
            await self._index(keys=[due_key], args=[*args, "LT"])
            await self._r.set(self._keys.record(record.sid), encode_record(record), ex=ttl)
            await self._index(keys=[due_key], args=[*args, "SET"])

    async def replace_record(
        self, expected: AssuranceRecord | None, record: AssuranceRecord, ttl: int
    ) -> bool:
        # As put_record: the index moves earlier first (harmless if the swap then loses: a
        # re-check listed early errs toward checking sooner), and to the record's date after.
        due_key = self._keys.due(record.client_id)
        args: list[int | str] = [day_score(record.recheck_at), record.sid, require_ttl(ttl)]
        old = encode_record(expected) if expected is not None else ""
        old_json = encode(expected) if expected is not None else ""
        with unavailable(self._c.on_error):
            await self._index(keys=[due_key], args=[*args, "LT"])
            swapped = await self._replace_record(
                keys=[self._keys.record(record.sid)], args=[old, encode_record(record), ttl, old_json]
            )
            if swapped:
                await self._index(keys=[due_key], args=[*args, "SET"])
        return bool(swapped)

    async def get_record(self, sid: str) -> AssuranceRecord | None:
        with unavailable(self._c.on_error):
            raw = await self._r.get(self._keys.record(sid))
        return decode_record(raw, sid) if raw is not None else None

    async def delete_record(self, sid: str, client_id: str) -> bool:
        # Record first: a crash in between leaves a stale index entry, which due() drops.
        record_key = self._keys.record(sid)
        with unavailable(self._c.on_error):
            deleted = await self._c.replicated(lambda r: r.delete(record_key))
            await self._r.zrem(self._keys.due(client_id), sid)
        return bool(deleted == 1)

    async def due(self, client_id: str, before: date, cursor: str | None, limit: int) -> DuePage:
        due_key = self._keys.due(client_id)

        async def scan(after: Position | None, bound: date, count: int) -> list[Position]:
            args: list[str | int] = [day_score(bound), count]
            if after is not None:
                args += [day_score(after[0]), after[1]]
            flat = await self._due_page(keys=[due_key], args=args)
            return [(score_day(float(flat[i + 1])), text(flat[i])) for i in range(0, len(flat), 2)]

        async def load(sids: list[str]) -> Sequence[str | bytes | None]:
            # Records of different sids sit in different slots: no MGET, one pipeline.
            async with self._r.pipeline(transaction=False) as pipe:
                for sid in sids:
                    pipe.get(self._keys.record(sid))
                raws: list[str | bytes | None] = await pipe.execute()
            return raws

        async def drop(sids: list[str]) -> None:
            await self._r.zrem(due_key, *sids)

        with unavailable(self._c.on_error):
            return await page_due(client_id, before, cursor, limit, scan=scan, load=load, drop=drop)
