"""The memory store's key space: one dict of keys with expiry, shared by every role.

It mirrors the Redis layout (same key names, same stored JSON) so the contract suite and the
data inventory describe both. No role awaits inside a critical section, so each call runs to
completion on the event loop and needs no lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from service.core.clock import Clock
from service.store.keys import DEFAULT_PREFIX, Keys, require_ttl

_SWEEP_AFTER = 1024  # writes, at least, between sweeps of expired keys

V = TypeVar("V")


@dataclass(slots=True)
class Entry:
    value: object  # a str (JSON), an int, or a role's own structure (sorted index, stream, set)
    expires_at: datetime


class KeySpace:
    def __init__(self, clock: Clock, prefix: str = DEFAULT_PREFIX) -> None:
        self.clock = clock
        self.keys = Keys(prefix)
        self.data: dict[str, Entry] = {}
        self._writes = 0  # since the last sweep of expired keys

    def get(self, key: str) -> Entry | None:
        entry = self.data.get(key)
        if entry is not None and entry.expires_at <= self.clock.now():
            del self.data[key]  # expired keys behave as missing, as in Redis
            return None
        return entry

    def live(self, keys: tuple[str, ...]) -> list[object | None]:
        """The values under ``keys`` that have not expired (None for the others), read at one
        instant: several keys of one subject, as one MGET reads them."""
        now = self.clock.now()
        found: list[object | None] = []
        for key in keys:
            entry = self.data.get(key)
            if entry is not None and entry.expires_at <= now:
                del self.data[key]
                entry = None
            found.append(entry.value if entry is not None else None)
        return found

    def text(self, key: str) -> str | None:
        entry = self.get(key)
        return entry.value if entry is not None and isinstance(entry.value, str) else None

    def value(self, key: str, kind: type[V]) -> V | None:
        """The live value under ``key`` if it is a ``kind``, else None."""
        entry = self.get(key)
        return entry.value if entry is not None and isinstance(entry.value, kind) else None

    def put(self, key: str, value: object, ttl: int) -> None:
        expires_at = self.clock.now() + timedelta(seconds=require_ttl(ttl))
        self.data[key] = Entry(value, expires_at)
        self._writes += 1
        if self._writes >= max(_SWEEP_AFTER, len(self.data) // 2):
            self._sweep()

    def extend(self, key: str, ttl: int) -> None:
        """Stretch a key's expiry to at least ``ttl`` from now (never shorten it)."""
        entry = self.data[key]
        entry.expires_at = max(entry.expires_at, self.clock.now() + timedelta(seconds=ttl))

    def drop(self, key: str) -> None:
        self.data.pop(key, None)

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def _sweep(self) -> None:
        """Drop expired keys, as Redis's active expiry does: a key nobody reads again (an
        abandoned check, a spent counter) must not stay for the life of the process. Run once
        the writes since the last sweep reach half the key count, so each write pays a constant
        share of it."""
        now = self.clock.now()
        for key in [k for k, e in self.data.items() if e.expires_at <= now]:
            del self.data[key]
        self._writes = 0

    def key_count(self) -> int:
        """Keys held in memory, expired ones not yet dropped included."""
        return len(self.data)

    def keys_with_expiry(self) -> list[tuple[str, datetime]]:
        """Every live key and when it expires: the contract suite checks that all have one."""
        now = self.clock.now()
        return sorted((k, e.expires_at) for k, e in self.data.items() if e.expires_at > now)
