"""A subject's record, re-check request, sanction and revocation marker, in memory: the roles' reads."""

from __future__ import annotations

from service.store.codec import decode
from service.store.memory.records import MemoryRecords
from service.store.memory.space import KeySpace
from service.store.records import Sanction
from service.store.reviews import RecheckRequest
from service.store.roles import SubjectState


class MemorySubjectStates:
    def __init__(self, space: KeySpace, records: MemoryRecords) -> None:
        self._space = space
        self._records = records  # its decoded-record cache serves refresh here too

    async def subject_state(self, sid: str) -> SubjectState:
        # The four keys at one instant, as the Redis store's one MGET reads them.
        record, recheck, sanction, revoked = self._space.live(self._space.keys.subject_state(sid))
        return SubjectState(
            self._records.record_of(sid, record if isinstance(record, str) else None),
            decode(RecheckRequest, recheck) if isinstance(recheck, str) else None,
            decode(Sanction, sanction) if isinstance(sanction, str) else None,
            revoked if isinstance(revoked, int) else None,
        )
