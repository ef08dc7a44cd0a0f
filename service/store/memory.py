"""The embedded store: one process, nothing survives a restart.

It mirrors the Redis layout (same key names, same stored JSON) so the contract suite
and the data inventory describe both. No method awaits inside a critical section, so
each call runs to completion on the event loop and needs no lock.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from service.core.clock import Clock
from service.store.base import DuePage, Store
from service.store.codec import decode, encode
from service.store.keys import DEFAULT_PREFIX, Keys, require_ttl
from service.store.paging import Position, page_due
from service.store.records import AssuranceRecord, CheckState


@dataclass(slots=True)
class _DueIndex:
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


@dataclass(slots=True)
class _Entry:
    value: str | int | _DueIndex
    expires_at: datetime


class MemoryStore:
    def __init__(self, clock: Clock, prefix: str = DEFAULT_PREFIX) -> None:
        self._clock = clock
        self._keys = Keys(prefix)
        self._data: dict[str, _Entry] = {}

    # Key space ------------------------------------------------------------------
    def _get(self, key: str) -> _Entry | None:
        entry = self._data.get(key)
        if entry is not None and entry.expires_at <= self._clock.now():
            del self._data[key]  # expired keys behave as missing, as in Redis
            return None
        return entry

    def _str(self, key: str) -> str | None:
        entry = self._get(key)
        return entry.value if entry is not None and isinstance(entry.value, str) else None

    def _set(self, key: str, value: str | int | _DueIndex, ttl: int) -> None:
        expires_at = self._clock.now() + timedelta(seconds=require_ttl(ttl))
        self._data[key] = _Entry(value, expires_at)

    def _index(self, client_id: str) -> _DueIndex | None:
        entry = self._get(self._keys.due(client_id))
        return entry.value if entry is not None and isinstance(entry.value, _DueIndex) else None

    def keys_with_expiry(self) -> list[tuple[str, datetime]]:
        """Every live key and when it expires: the contract suite checks that all have one."""
        now = self._clock.now()
        return sorted((k, e.expires_at) for k, e in self._data.items() if e.expires_at > now)

    # Checks -----------------------------------------------------------------------
    async def create_check(self, check: CheckState, ttl: int) -> None:
        key = self._keys.check(check.check_id)
        if self._get(key) is not None:
            raise ValueError("check id already taken")
        self._set(key, encode(check), ttl)

    async def get_check(self, check_id: str) -> CheckState | None:
        raw = self._str(self._keys.check(check_id))
        return decode(CheckState, raw) if raw is not None else None

    async def update_check(self, check: CheckState) -> bool:
        entry = self._get(self._keys.check(check.check_id))
        if entry is None or not isinstance(entry.value, str):
            return False
        if decode(CheckState, entry.value).version != check.version:
            return False
        entry.value = encode(dataclasses.replace(check, version=check.version + 1))
        check.version += 1  # expires_at untouched: the check keeps its remaining TTL
        return True

    async def claim_attempt(self, check_id: str, limit: int, ttl: int) -> int | None:
        key = self._keys.attempts(check_id)
        entry = self._get(key)
        count = entry.value if entry is not None and isinstance(entry.value, int) else 0
        if count >= limit:
            return None
        if entry is None:
            self._set(key, 1, ttl)
        else:
            entry.value = count + 1
        return count + 1

    # Records ----------------------------------------------------------------------
    async def put_record(self, record: AssuranceRecord, ttl: int) -> None:
        require_ttl(ttl)
        due_key = self._keys.due(record.client_id)
        index = self._index(record.client_id)
        if index is None:
            index = _DueIndex()
            self._set(due_key, index, ttl)
        entry = self._data[due_key]
        # The index lives as long as its longest-lived record, like EXPIRE in Redis.
        entry.expires_at = max(entry.expires_at, self._clock.now() + timedelta(seconds=ttl))
        index.add(record.sid, record.recheck_at)
        self._set(self._keys.record(record.sid), encode(record), ttl)

    async def get_record(self, sid: str) -> AssuranceRecord | None:
        raw = self._str(self._keys.record(sid))
        return decode(AssuranceRecord, raw) if raw is not None else None

    async def delete_record(self, sid: str, client_id: str) -> bool:
        existed = self._get(self._keys.record(sid)) is not None
        self._data.pop(self._keys.record(sid), None)
        if (index := self._index(client_id)) is not None:
            index.remove(sid)
        return existed

    async def due(self, client_id: str, before: date, cursor: str | None, limit: int) -> DuePage:
        async def scan(after: Position | None, bound: date, count: int) -> list[Position]:
            index = self._index(client_id)
            return index.after(after, bound, count) if index is not None else []

        async def load(sids: list[str]) -> list[str | bytes | None]:
            return [self._str(self._keys.record(sid)) for sid in sids]

        async def drop(sids: list[str]) -> None:
            if (index := self._index(client_id)) is not None:
                for sid in sids:
                    index.remove(sid)

        return await page_due(client_id, before, cursor, limit, scan=scan, load=load, drop=drop)

    # Revocation -------------------------------------------------------------------
    async def revoke(self, sid: str, revoked_at: int, ttl: int) -> None:
        key = self._keys.revoked(sid)
        entry = self._get(key)
        expires_at = self._clock.now() + timedelta(seconds=require_ttl(ttl))
        if entry is not None and isinstance(entry.value, int):
            # A second, earlier revocation must not revive tokens the first one voided.
            revoked_at = max(revoked_at, entry.value)
            expires_at = max(expires_at, entry.expires_at)
        self._data[key] = _Entry(revoked_at, expires_at)

    async def revoked_at(self, sid: str) -> int | None:
        entry = self._get(self._keys.revoked(sid))
        return entry.value if entry is not None and isinstance(entry.value, int) else None

    # Single use -------------------------------------------------------------------
    async def use_once(self, key: str, ttl: int) -> bool:
        name = self._keys.once(key)
        if self._get(name) is not None:
            return False
        self._set(name, "1", ttl)
        return True

    # Operations -------------------------------------------------------------------
    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


if TYPE_CHECKING:
    _conforms: type[Store] = MemoryStore  # mypy proves the class satisfies the protocol
