"""Assurance records and each client's due index, in memory."""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.store.codec import decode, encode
from service.store.keys import require_ttl
from service.store.memory.space import KeySpace
from service.store.paging import Position, page_due
from service.store.records import AssuranceRecord
from service.store.roles import DuePage

_DECODE_CACHE_MAX = 10_000
_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(AssuranceRecord))


@dataclass(slots=True)
class DueIndex:
    """A sorted set of (recheck_at, sid), one entry per sid."""

    by_sid: dict[str, date] = field(default_factory=dict)
    order: list[Position] = field(default_factory=list)

    def add(self, sid: str, day: date) -> None:
        self.remove(sid)
        self.by_sid[sid] = day
        bisect.insort(self.order, (day, sid))

    def remove(self, sid: str) -> None:
        day = self.by_sid.pop(sid, None)
        if day is not None:
            self.order.pop(bisect.bisect_left(self.order, (day, sid)))

    def after(self, position: Position | None, before: date, count: int) -> list[Position]:
        # Python orders str by code point, which is the UTF-8 byte order Redis uses.
        start = bisect.bisect_right(self.order, position) if position else 0
        stop = bisect.bisect_left(self.order, (before, ""))
        return self.order[start : min(stop, start + count)]


class MemoryRecords:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys
        self._decoded: dict[str, tuple[str, dict[str, Any]]] = {}

    def _index(self, client_id: str) -> DueIndex | None:
        return self._s.value(self._keys.due(client_id), DueIndex)

    async def put_record(self, record: AssuranceRecord, ttl: int) -> None:
        require_ttl(ttl)
        due_key = self._keys.due(record.client_id)
        index = self._index(record.client_id)
        if index is None:
            index = DueIndex()
            self._s.put(due_key, index, ttl)
        # The index lives as long as its longest-lived record, like EXPIRE in Redis.
        self._s.extend(due_key, ttl)
        index.add(record.sid, record.recheck_at)
        self._s.put(self._keys.record(record.sid), encode(record), ttl)

    async def replace_record(
        self, expected: AssuranceRecord | None, record: AssuranceRecord, ttl: int
    ) -> bool:
        stored = self._s.text(self._keys.record(record.sid))
        if stored != (encode(expected) if expected is not None else None):
            return False
        await self.put_record(record, ttl)
        return True

    async def get_record(self, sid: str) -> AssuranceRecord | None:
        return self.record_of(sid, self._s.text(self._keys.record(sid)))

    def record_of(self, sid: str, raw: str | None) -> AssuranceRecord | None:
        """The record stored as ``raw`` under ``sid``'s key (read by the caller)."""
        if raw is None:
            return None
        # Records are read on every refresh: decode each stored JSON once, hand out fresh records
        # (callers may change theirs) built from the decoded fields, which are all immutable.
        # The cache is keyed by the stored string itself, so a rewrite is never served stale.
        cached = self._decoded.get(sid)
        if cached is None or cached[0] is not raw:
            record = decode(AssuranceRecord, raw)
            cached = self._decoded[sid] = (raw, {f: getattr(record, f) for f in _RECORD_FIELDS})
            if len(self._decoded) > _DECODE_CACHE_MAX:
                self._decoded.pop(next(iter(self._decoded)))
            return record
        return AssuranceRecord(**cached[1])

    async def delete_record(self, sid: str, client_id: str) -> bool:
        existed = self._s.get(self._keys.record(sid)) is not None
        self._s.drop(self._keys.record(sid))
        if (index := self._index(client_id)) is not None:
            index.remove(sid)
        return existed

    async def due(self, client_id: str, before: date, cursor: str | None, limit: int) -> DuePage:
        async def scan(after: Position | None, bound: date, count: int) -> list[Position]:
            index = self._index(client_id)
            return index.after(after, bound, count) if index is not None else []

        async def load(sids: list[str]) -> list[str | bytes | None]:
            return [self._s.text(self._keys.record(sid)) for sid in sids]

        async def drop(sids: list[str]) -> None:
            if (index := self._index(client_id)) is not None:
                for sid in sids:
                    index.remove(sid)

        return await page_due(client_id, before, cursor, limit, scan=scan, load=load, drop=drop)
