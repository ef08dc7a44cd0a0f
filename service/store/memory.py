"""The embedded store: one process, nothing survives a restart.

It mirrors the Redis layout (same key names, same stored JSON) so the contract suite
and the data inventory describe both. No method awaits inside a critical section, so
each call runs to completion on the event loop and needs no lock.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from service.core.clock import Clock
from service.store.base import DuePage, Store
from service.store.codec import decode, encode
from service.store.events import Delivery, QueuedEvent, names_sid
from service.store.keys import DEFAULT_PREFIX, Keys, require_ttl
from service.store.paging import Position, page_due
from service.store.records import AssuranceRecord, CheckState, Sanction

_DECODE_CACHE_MAX = 10_000
_SWEEP_AFTER = 1024  # writes, at least, between sweeps of expired keys
_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(AssuranceRecord))


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
class _Pending:
    consumer: str
    delivered_ms: int
    count: int


@dataclass(slots=True)
class _Stream:
    """A stream with consumer groups, as Redis keeps it: entries in order, a pending list per group."""

    entries: dict[str, QueuedEvent] = field(default_factory=dict)
    seq: int = 0
    groups: dict[str, tuple[list[int], dict[str, _Pending]]] = field(default_factory=dict)

    def add(self, event: QueuedEvent, now_ms: int) -> None:
        self.seq += 1
        self.entries[f"{now_ms}-{self.seq}"] = event

    @staticmethod
    def seq_of(entry_id: str) -> int:
        return int(entry_id.rsplit("-", 1)[1])


_Value = str | int | _DueIndex | set[str] | _Stream | dict[str, int] | list[QueuedEvent]


@dataclass(slots=True)
class _Entry:
    value: _Value
    expires_at: datetime


class MemoryStore:
    def __init__(self, clock: Clock, prefix: str = DEFAULT_PREFIX) -> None:
        self._clock = clock
        self._keys = Keys(prefix)
        self._data: dict[str, _Entry] = {}
        self._decoded: dict[str, tuple[str, dict[str, Any]]] = {}
        self._retry_due: dict[str, int] = {}  # event id -> when its retry is due (ms)
        self._writes = 0  # since the last sweep of expired keys

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

    def _set(self, key: str, value: _Value, ttl: int) -> None:
        expires_at = self._clock.now() + timedelta(seconds=require_ttl(ttl))
        self._data[key] = _Entry(value, expires_at)
        self._writes += 1
        if self._writes >= max(_SWEEP_AFTER, len(self._data) // 2):
            self._sweep()

    def _sweep(self) -> None:
        """Drop expired keys, as Redis's active expiry does: a key nobody reads again (an
        abandoned check, a spent counter) must not stay for the life of the process. Run once
        the writes since the last sweep reach half the key count, so each write pays a constant
        share of it."""
        now = self._clock.now()
        for key in [k for k, e in self._data.items() if e.expires_at <= now]:
            del self._data[key]
        self._writes = 0

    def key_count(self) -> int:
        """Keys held in memory, expired ones not yet dropped included."""
        return len(self._data)

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

    async def release_attempt(self, check_id: str) -> int:
        entry = self._get(self._keys.attempts(check_id))
        if entry is None or not isinstance(entry.value, int):
            return 0
        entry.value = max(0, entry.value - 1)  # expires_at untouched: the TTL is kept
        return entry.value

    # Checks of a subject --------------------------------------------------------------
    async def track_check(self, sid: str, check_id: str, ttl: int) -> None:
        key = self._keys.subject_checks(sid)
        require_ttl(ttl)
        entry = self._get(key)
        if entry is None or not isinstance(entry.value, set):
            self._set(key, {check_id}, ttl)
            return
        entry.value.add(check_id)
        self._extend(key, ttl)

    async def subject_checks(self, sid: str) -> list[str]:
        entry = self._get(self._keys.subject_checks(sid))
        return sorted(entry.value) if entry is not None and isinstance(entry.value, set) else []

    async def erase_checks(self, sid: str) -> int:
        ids = await self.subject_checks(sid)
        self._data.pop(self._keys.subject_checks(sid), None)
        found = 0
        for check_id in ids:
            found += self._get(self._keys.check(check_id)) is not None
            self._data.pop(self._keys.check(check_id), None)
            self._data.pop(self._keys.attempts(check_id), None)
        return found

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

    async def replace_record(
        self, expected: AssuranceRecord | None, record: AssuranceRecord, ttl: int
    ) -> bool:
        stored = self._str(self._keys.record(record.sid))
        if stored != (encode(expected) if expected is not None else None):
            return False
        await self.put_record(record, ttl)
        return True

    async def get_record(self, sid: str) -> AssuranceRecord | None:
        raw = self._str(self._keys.record(sid))
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

    async def revoked_at_many(self, sids: Sequence[str]) -> list[int | None]:
        return [await self.revoked_at(sid) for sid in sids]

    # Single use -------------------------------------------------------------------
    async def use_once(self, key: str, ttl: int) -> bool:
        name = self._keys.once(key)
        if self._get(name) is not None:
            return False
        self._set(name, "1", ttl)
        return True

    # Abuse counters -------------------------------------------------------------
    def _extend(self, key: str, ttl: int) -> None:
        entry = self._data[key]
        entry.expires_at = max(entry.expires_at, self._clock.now() + timedelta(seconds=ttl))

    async def count_hit(self, scope: str, subject: str, ttl: int) -> int:
        key = self._keys.counter(scope, subject)
        require_ttl(ttl)
        entry = self._get(key)
        if entry is None or not isinstance(entry.value, int):
            self._set(key, 1, ttl)
            return 1
        entry.value += 1
        return entry.value

    async def peek_count(self, scope: str, subject: str) -> int:
        entry = self._get(self._keys.counter(scope, subject))
        return entry.value if entry is not None and isinstance(entry.value, int) else 0

    async def add_distinct(self, scope: str, subject: str, member: str, ttl: int) -> int:
        key = self._keys.distinct(scope, subject)
        require_ttl(ttl)
        entry = self._get(key)
        if entry is None or not isinstance(entry.value, set):
            self._set(key, {member}, ttl)
            return 1
        entry.value.add(member)
        return len(entry.value)

    async def clear_counters(self, subject: str, scopes: list[str]) -> None:
        for scope in scopes:
            self._data.pop(self._keys.counter(scope, subject), None)
            self._data.pop(self._keys.distinct(scope, subject), None)

    # Sanctions --------------------------------------------------------------------
    async def put_sanction(self, sanction: Sanction, ttl: int) -> None:
        self._set(self._keys.sanction(sanction.sid), encode(sanction), ttl)

    async def get_sanction(self, sid: str) -> Sanction | None:
        raw = self._str(self._keys.sanction(sid))
        return decode(Sanction, raw) if raw is not None else None

    async def clear_sanction(self, sid: str) -> None:
        self._data.pop(self._keys.sanction(sid), None)

    async def put_device_sanction(self, device: str, sanction: Sanction, ttl: int) -> None:
        self._set(self._keys.device_sanction(device), encode(sanction), ttl)

    async def get_device_sanction(self, device: str) -> Sanction | None:
        raw = self._str(self._keys.device_sanction(device))
        return decode(Sanction, raw) if raw is not None else None

    # Lifecycle timers -------------------------------------------------------------
    def _timers(self, client_id: str) -> dict[str, int] | None:
        entry = self._get(self._keys.timers(client_id))
        return entry.value if entry is not None and isinstance(entry.value, dict) else None

    async def schedule(self, client_id: str, sid: str, at: date, ttl: int) -> None:
        key = self._keys.timers(client_id)
        timers = self._timers(client_id)
        if timers is None:
            timers = {}
            self._set(key, timers, ttl)
        self._extend(key, require_ttl(ttl))
        timers[sid] = at.toordinal()

    async def timers_due(self, client_id: str, before: date, limit: int) -> list[tuple[str, date]]:
        timers = self._timers(client_id) or {}
        due = sorted((day, sid) for sid, day in timers.items() if day < before.toordinal())
        return [(sid, date.fromordinal(day)) for day, sid in due[:limit]]

    async def unschedule(self, client_id: str, sid: str) -> None:
        if (timers := self._timers(client_id)) is not None:
            timers.pop(sid, None)

    # Event stream -------------------------------------------------------------------
    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    def _stream(self) -> _Stream | None:
        entry = self._get(self._keys.events())
        return entry.value if entry is not None and isinstance(entry.value, _Stream) else None

    async def publish_event(self, event: QueuedEvent, ttl: int) -> None:
        key = self._keys.events()
        stream = self._stream()
        if stream is None:
            stream = _Stream()
            self._set(key, stream, ttl)
        self._extend(key, require_ttl(ttl))
        stream.add(event, self._now_ms())

    async def erase_events(self, sid: str) -> int:
        erased = 0
        stream = self._stream()
        if stream is not None:
            for entry_id, event in list(stream.entries.items()):
                if names_sid(event, sid):
                    del stream.entries[entry_id]
                    for _, pending in stream.groups.values():
                        pending.pop(entry_id, None)  # as XACK: no consumer is handed it again
                    erased += 1
        for key in (self._keys.retries(), self._keys.dead()):
            entry = self._get(key)
            if entry is not None and isinstance(entry.value, list):
                gone = [e for e in entry.value if names_sid(e, sid)]
                for event in gone:
                    entry.value.remove(event)
                    self._retry_due.pop(event.event_id, None)
                erased += len(gone)
        return erased

    async def ensure_group(self, group: str) -> None:
        stream = self._stream()
        if stream is not None:
            stream.groups.setdefault(group, ([0], {}))

    def _deliver(self, stream: _Stream, group: str, consumer: str, ids: list[str]) -> list[Delivery]:
        pending = stream.groups[group][1]
        out = []
        for entry_id in ids:
            p = pending.get(entry_id)
            count = p.count + 1 if p else 1
            pending[entry_id] = _Pending(consumer, self._now_ms(), count)
            out.append(Delivery(entry_id, stream.entries[entry_id], count > 1))
        return out

    async def read_events(self, group: str, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        stream = self._stream()
        if stream is None or group not in stream.groups:
            return []  # nothing to block on: one process, and the caller loops
        last = stream.groups[group][0]
        fresh = [i for i in stream.entries if _Stream.seq_of(i) > last[0]][:count]
        if fresh:
            last[0] = _Stream.seq_of(fresh[-1])
        return self._deliver(stream, group, consumer, fresh)

    async def read_own_pending(self, group: str, consumer: str, count: int) -> list[Delivery]:
        stream = self._stream()
        if stream is None or group not in stream.groups:
            return []
        mine = [
            i for i, p in stream.groups[group][1].items() if p.consumer == consumer and i in stream.entries
        ]
        return self._deliver(stream, group, consumer, mine[:count])

    async def claim_stale(self, group: str, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]:
        stream = self._stream()
        if stream is None or group not in stream.groups:
            return []
        now = self._now_ms()
        pending = stream.groups[group][1]
        stale = [i for i, p in pending.items() if now - p.delivered_ms >= min_idle_ms and i in stream.entries]
        return self._deliver(stream, group, consumer, stale[:count])

    async def hand_back(self, group: str, consumer: str, entry_ids: list[str], idle_ms: int) -> None:
        stream = self._stream()
        if stream is None or group not in stream.groups:
            return
        pending = stream.groups[group][1]
        for entry_id in entry_ids:
            p = pending.get(entry_id)
            if p is not None and p.consumer == consumer:
                pending[entry_id] = _Pending(consumer, self._now_ms() - idle_ms, p.count)

    def _settle(self, group: str, entry_id: str) -> bool:
        """Ack and delete; False when the entry was already settled (by this or another worker)."""
        stream = self._stream()
        if stream is None or group not in stream.groups:
            return False
        if stream.groups[group][1].pop(entry_id, None) is None:
            return False
        stream.entries.pop(entry_id, None)
        return True

    def _events_list(self, key: str, ttl: int) -> list[QueuedEvent]:
        entry = self._get(key)
        if entry is None or not isinstance(entry.value, list):
            self._set(key, [], ttl)
            entry = self._data[key]
        self._extend(key, require_ttl(ttl))
        return entry.value if isinstance(entry.value, list) else []

    async def ack_event(self, group: str, entry_id: str) -> None:
        self._settle(group, entry_id)

    async def retry_event(self, group: str, entry_id: str, event: QueuedEvent, at_ms: int, ttl: int) -> None:
        require_ttl(ttl)
        if self._settle(group, entry_id):
            self._retry_due[event.event_id] = at_ms  # what a sorted set's score is in Redis
            self._events_list(self._keys.retries(), ttl).append(event)

    async def dead_letter(self, group: str, entry_id: str, event: QueuedEvent, ttl: int) -> None:
        require_ttl(ttl)
        if self._settle(group, entry_id):
            self._events_list(self._keys.dead(), ttl).insert(0, event)

    async def release_retries(self, now_ms: int, limit: int) -> int:
        entry = self._get(self._keys.retries())
        if entry is None or not isinstance(entry.value, list):
            return 0
        due = [e for e in entry.value if self._retry_due.get(e.event_id, 0) <= now_ms][:limit]
        stream_key = self._keys.events()
        for event in due:
            entry.value.remove(event)
            self._retry_due.pop(event.event_id, None)
            stream = self._stream()
            if stream is None:
                stream = _Stream()
                self._data[stream_key] = _Entry(stream, entry.expires_at)
            stream.add(event, self._now_ms())
        return len(due)

    async def dead_letters(self, limit: int) -> list[QueuedEvent]:
        entry = self._get(self._keys.dead())
        return list(entry.value[:limit]) if entry is not None and isinstance(entry.value, list) else []

    # Operations -------------------------------------------------------------------
    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


if TYPE_CHECKING:
    _conforms: type[Store] = MemoryStore  # mypy proves the class satisfies the protocol
