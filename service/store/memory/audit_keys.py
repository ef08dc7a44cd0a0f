"""The audit trail's per-subject keys, in memory."""

from __future__ import annotations

from service.store.keys import require_ttl
from service.store.memory.space import KeySpace


class MemorySubjectKeys:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    def subject_key(self, ref: str, fresh: bytes, ttl: int) -> bytes:
        name = self._keys.subject_key(ref)
        held = self._s.text(name)
        if held is None:
            self._s.put(name, fresh.hex(), require_ttl(ttl))
            return fresh
        self._s.extend(name, require_ttl(ttl))
        return bytes.fromhex(held)

    def shred_subject_key(self, ref: str) -> bool:
        name = self._keys.subject_key(ref)
        found = self._s.get(name) is not None
        self._s.drop(name)
        return found
