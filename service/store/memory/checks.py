"""Checks, their attempt counters and each subject's index of checks, in memory."""

from __future__ import annotations

import dataclasses

from service.store.codec import decode, encode
from service.store.keys import require_ttl
from service.store.memory.space import KeySpace
from service.store.records import CheckState


class MemoryChecks:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    async def create_check(self, check: CheckState, ttl: int) -> None:
        key = self._keys.check(check.check_id)
        if self._s.get(key) is not None:
            raise ValueError("check id already taken")
        self._s.put(key, encode(check), ttl)

    async def get_check(self, check_id: str) -> CheckState | None:
        raw = self._s.text(self._keys.check(check_id))
        return decode(CheckState, raw) if raw is not None else None

    async def update_check(self, check: CheckState) -> bool:
        entry = self._s.get(self._keys.check(check.check_id))
        if entry is None or not isinstance(entry.value, str):
            return False
        if decode(CheckState, entry.value).version != check.version:
            return False
        entry.value = encode(dataclasses.replace(check, version=check.version + 1))
        check.version += 1  # expires_at untouched: the check keeps its remaining TTL
        return True

    async def claim_attempt(self, check_id: str, limit: int, ttl: int) -> int | None:
        key = self._keys.attempts(check_id)
        entry = self._s.get(key)
        count = entry.value if entry is not None and isinstance(entry.value, int) else 0
        if count >= limit:
            return None
        if entry is None:
            self._s.put(key, 1, ttl)
        else:
            entry.value = count + 1
        return count + 1

    async def release_attempt(self, check_id: str) -> int:
        entry = self._s.get(self._keys.attempts(check_id))
        if entry is None or not isinstance(entry.value, int):
            return 0
        count = max(0, entry.value - 1)
        entry.value = count  # expires_at untouched: the TTL is kept
        return count

    # Checks of a subject --------------------------------------------------------------
    async def track_check(self, sid: str, check_id: str, ttl: int) -> None:
        key = self._keys.subject_checks(sid)
        require_ttl(ttl)
        entry = self._s.get(key)
        if entry is None or not isinstance(entry.value, set):
            self._s.put(key, {check_id}, ttl)
            return
        entry.value.add(check_id)
        self._s.extend(key, ttl)

    async def subject_checks(self, sid: str) -> list[str]:
        ids: set[str] | None = self._s.value(self._keys.subject_checks(sid), set)
        return sorted(ids) if ids is not None else []

    async def erase_checks(self, sid: str) -> int:
        ids = await self.subject_checks(sid)
        self._s.drop(self._keys.subject_checks(sid))
        found = 0
        for check_id in ids:
            found += self._s.get(self._keys.check(check_id)) is not None
            self._s.drop(self._keys.check(check_id))
            self._s.drop(self._keys.attempts(check_id))
        return found
