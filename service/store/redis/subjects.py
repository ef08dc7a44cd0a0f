"""A subject's record, re-check request, sanction and revocation marker in one round trip, in Redis."""

from __future__ import annotations

from service.store.codec import decode
from service.store.record_codec import decode_record
from service.store.records import Sanction
from service.store.redis.connection import Connection, unavailable
from service.store.reviews import RecheckRequest
from service.store.roles import SubjectState


class RedisSubjectStates:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys

    async def subject_state(self, sid: str) -> SubjectState:
        # One MGET: the keys share the sid's hash tag, so one slot on a cluster too.
        with unavailable(self._c.on_error):
            record, recheck, sanction, revoked = await self._r.mget(self._keys.subject_state(sid))
        return SubjectState(
            decode_record(record, sid) if record is not None else None,
            decode(RecheckRequest, recheck) if recheck is not None else None,
            decode(Sanction, sanction) if sanction is not None else None,
            int(revoked) if revoked is not None else None,
        )
