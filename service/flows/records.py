"""Writing a subject's record when others may write it too: the check that passes, a sanction
that voids its tokens, and the age-up of a refresh or a worker timer.

Each writer builds the successor of the record it read and stores it by compare-and-set; if
another writer came first, it reads the record again and rebuilds, so no change is lost (a
sanction's generation bump overwritten by an age-up would let voided tokens be issued again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.flows.errors import RecordBusy
from service.policy.holder import PolicyHolder
from service.store.records import AssuranceRecord
from service.store.roles import RecordStore

_ATTEMPTS = 8

Build = Callable[[AssuranceRecord | None], AssuranceRecord | None]


@dataclass(frozen=True, slots=True)
class RecordWriting:
    """What writing a record touches: the records, and the policy's retention (their TTL)."""

    policy: PolicyHolder
    records: RecordStore


async def write_record(
    svc: RecordWriting, sid: str, build: Build, current: AssuranceRecord | None
) -> tuple[AssuranceRecord | None, AssuranceRecord | None]:
    """Store ``build(current)`` unless another writer changed the record since ``current``
    was read; then read again and rebuild. ``build`` returns None to leave the record as it is.
    Returns the record the successor was built from, and the successor stored (or None)."""
    ttl = int(svc.policy.current.retention.total_seconds())
    for _ in range(_ATTEMPTS):
        successor = build(current)
        if successor is None:
            return current, None
        if await svc.records.replace_record(current, successor, ttl):
            return current, successor
        current = await svc.records.get_record(sid)
    raise RecordBusy("the subject's record kept changing under concurrent requests; try again")
