"""A subject's record, re-check request, sanction and revocation marker, in memory: the roles' reads."""

from __future__ import annotations

from service.store.memory.abuse import MemorySanctions
from service.store.memory.markers import MemoryRevocations
from service.store.memory.records import MemoryRecords
from service.store.memory.reviews import MemoryRechecks
from service.store.roles import SubjectState


class MemorySubjectStates:
    def __init__(
        self,
        records: MemoryRecords,
        rechecks: MemoryRechecks,
        sanctions: MemorySanctions,
        revocations: MemoryRevocations,
    ) -> None:
        self._records = records  # its decoded-record cache serves refresh here too
        self._rechecks = rechecks
        self._sanctions = sanctions
        self._revocations = revocations

    async def subject_state(self, sid: str) -> SubjectState:
        return SubjectState(
            await self._records.get_record(sid),
            await self._rechecks.get_recheck(sid),
            await self._sanctions.get_sanction(sid),
            await self._revocations.revoked_at(sid),
        )
