"""Revocation and single-use markers, in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from service.store.keys import require_ttl
from service.store.memory.space import Entry, KeySpace


class MemoryRevocations:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    async def revoke(self, sid: str, revoked_at: int, ttl: int) -> None:
        key = self._keys.revoked(sid)
        entry = self._s.get(key)
        expires_at = self._s.clock.now() + timedelta(seconds=require_ttl(ttl))
        if entry is not None and isinstance(entry.value, int):
            # A second, earlier revocation must not revive tokens the first one voided.
            revoked_at = max(revoked_at, entry.value)
            expires_at = max(expires_at, entry.expires_at)
        self._s.data[key] = Entry(revoked_at, expires_at)

    async def revoked_at(self, sid: str) -> int | None:
        return self._s.value(self._keys.revoked(sid), int)

    async def revoked_at_many(self, sids: Sequence[str]) -> list[int | None]:
        return [await self.revoked_at(sid) for sid in sids]


class MemorySingleUse:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    async def use_once(self, key: str, ttl: int) -> bool:
        name = self._keys.once(key)
        if self._s.get(name) is not None:
            return False
        self._s.put(name, "1", ttl)
        return True
