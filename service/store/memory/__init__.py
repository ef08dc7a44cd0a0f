"""The embedded store: one process, nothing survives a restart.

One key space (service.store.memory.space) shared by one object per role; ``MemoryStore`` holds
them for the composition root, which hands each use case only the roles it needs.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from service.core.clock import Clock
from service.store.keys import DEFAULT_PREFIX
from service.store.memory.abuse import MemoryCounters, MemorySanctions
from service.store.memory.audit_keys import MemorySubjectKeys
from service.store.memory.checks import MemoryChecks
from service.store.memory.content import MemoryContent
from service.store.memory.events import MemoryEvents
from service.store.memory.markers import MemoryRevocations, MemorySingleUse
from service.store.memory.pages import MemoryPages
from service.store.memory.records import MemoryRecords
from service.store.memory.reviews import MemoryAppeals, MemoryConnections, MemoryGuardians, MemoryRechecks
from service.store.memory.space import KeySpace
from service.store.memory.subjects import MemorySubjectStates
from service.store.memory.timers import MemoryTimers

if TYPE_CHECKING:
    from service.store import roles


class MemoryStore:
    def __init__(self, clock: Clock, prefix: str = DEFAULT_PREFIX) -> None:
        self._space = space = KeySpace(clock, prefix)
        self.checks = MemoryChecks(space)
        self.records = MemoryRecords(space)
        self.revocations = MemoryRevocations(space)
        self.once = MemorySingleUse(space)
        self.counters = MemoryCounters(space)
        self.sanctions = MemorySanctions(space)
        self.timers = MemoryTimers(space)
        self.rechecks = MemoryRechecks(space)
        self.subject_states = MemorySubjectStates(space, self.records)
        self.appeals = MemoryAppeals(space)
        self.guardians = MemoryGuardians(space)
        self.connections = MemoryConnections(space)
        self.events = MemoryEvents(space)
        self.subject_keys = MemorySubjectKeys(space)
        self.pages = MemoryPages(space)
        self.content = MemoryContent(space)

    def key_count(self) -> int:
        """Keys held in memory, expired ones not yet dropped included."""
        return self._space.key_count()

    def keys_with_expiry(self) -> list[tuple[str, datetime]]:
        """Every live key and when it expires: the contract suite checks that all have one."""
        return self._space.keys_with_expiry()

    def contents(self) -> dict[str, object]:
        """Every live key and its value as held: what privacy tests search for canaries."""
        return {k: self._space.data[k].value for k, _ in self._space.keys_with_expiry()}

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


if TYPE_CHECKING:  # mypy proves each role object satisfies its protocol
    _checks: type[roles.CheckStore] = MemoryChecks
    _records: type[roles.RecordStore] = MemoryRecords
    _revocations: type[roles.RevocationStore] = MemoryRevocations
    _subject_keys: type[roles.SubjectKeyStore] = MemorySubjectKeys
    _once: type[roles.SingleUse] = MemorySingleUse
    _counters: type[roles.CounterStore] = MemoryCounters
    _sanctions: type[roles.SanctionStore] = MemorySanctions
    _timers: type[roles.TimerStore] = MemoryTimers
    _rechecks: type[roles.RecheckStore] = MemoryRechecks
    _subject_states: type[roles.SubjectStateStore] = MemorySubjectStates
    _appeals: type[roles.AppealStore] = MemoryAppeals
    _guardians: type[roles.GuardianStore] = MemoryGuardians
    _connections: type[roles.ConnectionStore] = MemoryConnections
    _events: type[roles.EventStream] = MemoryEvents
    _pages: type[roles.PageStore] = MemoryPages
    _content: type[roles.ContentStore] = MemoryContent
    _health: type[roles.StoreHealth] = MemoryStore

__all__ = ["MemoryStore"]
