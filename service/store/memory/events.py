"""The webhook event stream, in memory: a stream with consumer groups, as Redis keeps it, plus
the retry set and the dead letters."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.store.events import Delivery, QueuedEvent, names_sid
from service.store.keys import require_ttl
from service.store.memory.space import Entry, KeySpace


@dataclass(slots=True)
class _Pending:
    consumer: str
    delivered_ms: int
    count: int


@dataclass(slots=True)
class Stream:
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


class MemoryEvents:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys
        self._retry_due: dict[str, int] = {}  # event id -> when its retry is due (ms)

    def _stream(self) -> Stream | None:
        return self._s.value(self._keys.events(), Stream)

    async def publish_event(self, event: QueuedEvent, ttl: int) -> None:
        key = self._keys.events()
        stream = self._stream()
        if stream is None:
            stream = Stream()
            self._s.put(key, stream, ttl)
        self._s.extend(key, require_ttl(ttl))
        stream.add(event, self._s.now_ms())

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
            waiting: list[QueuedEvent] | None = self._s.value(key, list)
            if waiting is not None:
                gone = [e for e in waiting if names_sid(e, sid)]
                for event in gone:
                    waiting.remove(event)
                    self._retry_due.pop(event.event_id, None)
                erased += len(gone)
        return erased

    async def ensure_group(self, group: str) -> None:
        stream = self._stream()
        if stream is not None:
            stream.groups.setdefault(group, ([0], {}))

    def _deliver(self, stream: Stream, group: str, consumer: str, ids: list[str]) -> list[Delivery]:
        pending = stream.groups[group][1]
        out = []
        for entry_id in ids:
            p = pending.get(entry_id)
            count = p.count + 1 if p else 1
            pending[entry_id] = _Pending(consumer, self._s.now_ms(), count)
            out.append(Delivery(entry_id, stream.entries[entry_id], count > 1))
        return out

    async def read_events(self, group: str, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        stream = self._stream()
        if stream is None or group not in stream.groups:
            return []  # nothing to block on: one process, and the caller loops
        last = stream.groups[group][0]
        fresh = [i for i in stream.entries if Stream.seq_of(i) > last[0]][:count]
        if fresh:
            last[0] = Stream.seq_of(fresh[-1])
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
        now = self._s.now_ms()
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
                pending[entry_id] = _Pending(consumer, self._s.now_ms() - idle_ms, p.count)

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
        waiting: list[QueuedEvent] | None = self._s.value(key, list)
        if waiting is None:
            waiting = []
            self._s.put(key, waiting, ttl)
        self._s.extend(key, require_ttl(ttl))
        return waiting

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
        entry = self._s.get(self._keys.retries())
        if entry is None or not isinstance(entry.value, list):
            return 0
        waiting: list[QueuedEvent] = entry.value
        due = [e for e in waiting if self._retry_due.get(e.event_id, 0) <= now_ms][:limit]
        stream_key = self._keys.events()
        for event in due:
            waiting.remove(event)
            self._retry_due.pop(event.event_id, None)
            stream = self._stream()
            if stream is None:
                stream = Stream()
                self._s.data[stream_key] = Entry(stream, entry.expires_at)
            stream.add(event, self._s.now_ms())
        return len(due)

    async def dead_letters(self, limit: int) -> list[QueuedEvent]:
        dead: list[QueuedEvent] | None = self._s.value(self._keys.dead(), list)
        return list(dead[:limit]) if dead is not None else []
