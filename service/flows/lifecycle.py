"""Lifecycle of a record after a check: when the worker must look at it again, and what it does.

Each record has one timer in its client's timer index (a sorted set by day): the earlier of
its age-up day and its re-check day that is still ahead. The worker takes due timers, moves an
exact-interval minor up a band where the level allows, tells the app when a re-check falls
due, and sets the next timer (or none).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from service.audit.events import Audit
from service.core.clock import Clock
from service.core.dates import add_years, day_of
from service.flows import events
from service.flows.records import RecordWriting, write_record
from service.policy.compiled import Policy
from service.policy.holder import PolicyHolder
from service.store.records import AssuranceRecord
from service.store.roles import SingleUse, TimerStore


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """What a record's lifecycle touches: its timer, the age-up write, and the app's notices
    (each sent once: the single-use markers)."""

    policy: PolicyHolder
    clock: Clock
    audit: Audit
    once: SingleUse
    timers: TimerStore
    writing: RecordWriting
    publishing: events.Publishing


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


async def age_up(svc: Lifecycle, record: AssuranceRecord) -> AssuranceRecord:
    """The one age-up rule, applied by refresh and by the worker's timers alike.

    Once ``age_up_at`` has passed, an exact-interval minor moves into the next band, and on
    through every band whose day has also passed, as long as the record's level is enough for
    it (``level_allows``); otherwise the band stays and the re-check decides. The record is
    stored by compare-and-set (a sanction written meanwhile is kept), ``subject.band_changed``
    audited and sent to the app once (even when refresh and workers race), and the timer reset.
    Returns the record, changed or not.
    """
    today = day_of(svc.clock.now())
    if record.age_up_at is None or record.age_up_at > today:
        return record  # nearly every refresh: nothing to do, nothing to write
    policy = svc.policy.current

    def aged(current: AssuranceRecord | None) -> AssuranceRecord | None:
        if current is None or current.client_id != record.client_id:
            return None  # erased (or never this client's) meanwhile
        return _aged(policy, current, today)

    before, after = await write_record(svc.writing, record.sid, aged, record)
    if after is None:
        return before if before is not None else record
    record = after
    ttl = int(policy.retention.total_seconds())
    # Refresh and several workers may age one record at once: they write the same record,
    # and one of them tells the app, once per band this record reaches.
    once = f"band_changed|{record.sid}|{record.assured_at.isoformat()}|{record.band}"
    if await svc.once.use_once(once, ttl):
        svc.audit.emit(
            "subject.band_changed", client=record.client_id, sid=record.sid,
            pol=record.policy_version, band=record.band, reason="age_up",
        )  # fmt: skip
        data = {"sid": record.sid, "band": record.band, "reason": "age_up"}
        await events.publish(svc.publishing, record.client_id, events.BAND_CHANGED, data)
    await schedule(svc, record)
    return record


def _aged(policy: Policy, record: AssuranceRecord, today: date) -> AssuranceRecord | None:
    """The record moved on through every band whose day has passed, or None if its band stays."""
    aged = replace(record)
    while aged.age_up_at is not None and aged.age_up_at <= today and aged.band in policy.bands:
        nxt = policy.bands.next_after(aged.band)
        if nxt is None:
            break  # the top band: nothing to move into
        if not level_allows(policy, aged, nxt.name):
            break  # the next band needs a stronger level: the re-check decides, not the calendar
        after = policy.bands.next_after(nxt.name)
        aged.band = nxt.name
        # age_up_at was rounded up from the birthday, so whole years added to it stay at or
        # after the real birthday of the following band.
        aged.age_up_at = add_years(aged.age_up_at, after.lo - nxt.lo) if after else None
    return aged if aged.band != record.band else None


def next_step(record: AssuranceRecord, today: date) -> date | None:
    ahead = [d for d in (record.age_up_at, record.recheck_at) if d is not None and d > today]
    return min(ahead, default=None)


async def schedule(svc: Lifecycle, record: AssuranceRecord) -> None:
    """(Re)set the record's timer; its earliest step may already be due (the worker catches up)."""
    steps = [d for d in (record.age_up_at, record.recheck_at) if d is not None]
    ttl = int(svc.policy.current.retention.total_seconds())
    if steps:
        await svc.timers.schedule(record.client_id, record.sid, min(steps), ttl)


async def check_completed(
    svc: events.Publishing, client_id: str, sid: str, check_id: str, outcome: str, **facts: str | None
) -> None:
    data = {"sid": sid, "check_id": check_id, "outcome": outcome, **facts}
    await events.publish(svc, client_id, events.CHECK_COMPLETED, data)


async def recheck_due(svc: Lifecycle, record: AssuranceRecord) -> bool:
    """Tell the app once per re-check date; True if this call sent the notice."""
    juris = svc.policy.current.jurisdictions.get(record.jurisdiction)
    grace = juris.grace if juris else timedelta(0)
    ttl = int(svc.policy.current.retention.total_seconds())
    if not await svc.once.use_once(f"recheck_due|{record.sid}|{record.recheck_at.isoformat()}", ttl):
        return False
    grace_ends = record.recheck_at + grace
    svc.audit.emit("subject.recheck_due", client=record.client_id, sid=record.sid, pol=record.policy_version)
    data = {
        "sid": record.sid, "recheck_at": record.recheck_at.isoformat(), "grace_ends": grace_ends.isoformat(),
    }  # fmt: skip
    await events.publish(svc.publishing, record.client_id, events.RECHECK_DUE, data)
    return True
