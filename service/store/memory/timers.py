"""Lifecycle timers (the worker's due index), in memory."""

from __future__ import annotations

from datetime import date

from service.store.keys import require_ttl
from service.store.memory.space import KeySpace


class MemoryTimers:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    def _timers(self, client_id: str) -> dict[str, int] | None:
        return self._s.value(self._keys.timers(client_id), dict)

    async def schedule(self, client_id: str, sid: str, at: date, ttl: int) -> None:
        key = self._keys.timers(client_id)
        timers = self._timers(client_id)
        if timers is None:
            timers = {}
            self._s.put(key, timers, ttl)
        self._s.extend(key, require_ttl(ttl))
        timers[sid] = at.toordinal()

    async def timers_due(self, client_id: str, before: date, limit: int) -> list[tuple[str, date]]:
        timers = self._timers(client_id) or {}
        due = sorted((day, sid) for sid, day in timers.items() if day < before.toordinal())
        return [(sid, date.fromordinal(day)) for day, sid in due[:limit]]

    async def unschedule(self, client_id: str, sid: str) -> None:
        if (timers := self._timers(client_id)) is not None:
            timers.pop(sid, None)
