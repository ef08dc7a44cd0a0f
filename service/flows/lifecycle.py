"""Lifecycle of a record after a check: when the worker must look at it again, and what it does.

Each record has one timer in its client's timer index (a sorted set by day): the earlier of
its age-up day and its re-check day that is still ahead. The worker takes due timers, moves an
exact-interval minor up a band where the level allows, tells the app when a re-check falls
due, and sets the next timer (or none).
"""

from __future__ import annotations

from datetime import date, timedelta

from service.core.dates import day_of
from service.flows import events
from service.flows.context import Services
from service.policy.compiled import Policy
from service.store.records import AssuranceRecord


def level_allows(policy: Policy, record: AssuranceRecord, band: str) -> bool:
    """Age up without a check only if the record's level is enough for the next band."""
    juris = policy.jurisdictions.get(record.jurisdiction)
    need = juris.required_level.get(band) if juris else None
    return (
        need is not None
        and record.level in policy.levels
        and need in policy.levels
        and policy.levels.at_least(record.level, need)
    )


def next_step(record: AssuranceRecord, today: date) -> date | None:
    ahead = [d for d in (record.age_up_at, record.recheck_at) if d is not None and d > today]
    return min(ahead, default=None)


async def schedule(svc: Services, record: AssuranceRecord) -> None:
    """(Re)set the record's timer; its earliest step may already be due (the worker catches up)."""
    steps = [d for d in (record.age_up_at, record.recheck_at) if d is not None]
    ttl = int(svc.policy.current.retention.total_seconds())
    if steps:
        await svc.store.schedule(record.client_id, record.sid, min(steps), ttl)


async def check_completed(
    svc: Services, client_id: str, sid: str, check_id: str, outcome: str, **facts: str | None
) -> None:
    data = {"sid": sid, "check_id": check_id, "outcome": outcome, **facts}
    await events.publish(svc, client_id, events.CHECK_COMPLETED, data)


async def recheck_due(svc: Services, record: AssuranceRecord) -> bool:
    """Tell the app once per re-check date; True if this call sent the notice."""
    juris = svc.policy.current.jurisdictions.get(record.jurisdiction)
    grace = juris.grace if juris else timedelta(0)
    ttl = int(svc.policy.current.retention.total_seconds())
    if not await svc.store.use_once(f"recheck_due|{record.sid}|{record.recheck_at.isoformat()}", ttl):
        return False
    grace_ends = record.recheck_at + grace
    svc.audit.emit("subject.recheck_due", client=record.client_id, sid=record.sid, pol=record.policy_version)
    data = {
        "sid": record.sid, "recheck_at": record.recheck_at.isoformat(), "grace_ends": grace_ends.isoformat(),
    }  # fmt: skip
    await events.publish(svc, record.client_id, events.RECHECK_DUE, data)
    return True


def today(svc: Services) -> date:
    return day_of(svc.clock.now())
