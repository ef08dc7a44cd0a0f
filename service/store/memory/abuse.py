"""Abuse counters, distinct sets and sanctions (of subjects and of devices), in memory."""

from __future__ import annotations

from service.store.codec import decode, encode
from service.store.keys import require_ttl
from service.store.memory.space import KeySpace
from service.store.records import Sanction


class MemoryCounters:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    async def count_hit(self, scope: str, subject: str, ttl: int) -> int:
        key = self._keys.counter(scope, subject)
        require_ttl(ttl)
        entry = self._s.get(key)
        if entry is None or not isinstance(entry.value, int):
            self._s.put(key, 1, ttl)
            return 1
        count = entry.value + 1
        entry.value = count
        return count

    async def peek_count(self, scope: str, subject: str) -> int:
        count = self._s.value(self._keys.counter(scope, subject), int)
        return count if count is not None else 0

    async def add_distinct(self, scope: str, subject: str, member: str, ttl: int) -> int:
        key = self._keys.distinct(scope, subject)
        require_ttl(ttl)
        entry = self._s.get(key)
        if entry is None or not isinstance(entry.value, set):
            self._s.put(key, {member}, ttl)
            return 1
        entry.value.add(member)
        return len(entry.value)

    async def clear_counters(self, subject: str, scopes: list[str]) -> None:
        for scope in scopes:
            self._s.drop(self._keys.counter(scope, subject))
            self._s.drop(self._keys.distinct(scope, subject))


class MemorySanctions:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    async def put_sanction(self, sanction: Sanction, ttl: int) -> None:
        self._s.put(self._keys.sanction(sanction.sid), encode(sanction), ttl)

    async def get_sanction(self, sid: str) -> Sanction | None:
        raw = self._s.text(self._keys.sanction(sid))
        return decode(Sanction, raw) if raw is not None else None

    async def clear_sanction(self, sid: str) -> None:
        self._s.drop(self._keys.sanction(sid))

    async def put_device_sanction(self, device: str, sanction: Sanction, ttl: int) -> None:
        self._s.put(self._keys.device_sanction(device), encode(sanction), ttl)

    async def get_device_sanction(self, device: str) -> Sanction | None:
        raw = self._s.text(self._keys.device_sanction(device))
        return decode(Sanction, raw) if raw is not None else None
