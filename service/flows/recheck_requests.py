"""Re-checks an app demands: its trust-and-safety team, or a threshold of user reports it relays.

A request names a reason code, the level the re-check must establish, and a deadline. Until a
passing check settles it:

- refresh issues tokens with ``recheck_due`` and the request, seen through the jurisdiction's
  ``pending_recheck`` rules (by default the band's upper edge counts as unconfirmed, so the
  subject cannot enter children's spaces on the strength of its old record);
- decisions on the subject's tokens apply the same rules at once, tokens issued before included;
- the subject is in its app's due list (the record's re-check day moves to the request's day);
- after the deadline, the policy's ``recheck_missed`` sanction is imposed once, by the worker's
  timer on the deadline (or by refresh, should it come first), and refresh asks for the
  re-check; the request stays in force for the policy's ``overdue`` period.

One request per subject: asking again keeps the stricter of the two (higher level, earlier
deadline). Only the pairwise sid is stored, with the codes and times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from service.audit.events import Audit
from service.clients.registry import Client
from service.core.clock import Clock
from service.core.dates import day_of
from service.flows import abuse, events
from service.flows.abuse import AbuseControl, Concerned
from service.flows.errors import InvalidDeadline, UnknownLevel
from service.flows.records import RecordWriting, write_record
from service.flows.subjects import SubjectLookup, SubjectRef, own_record
from service.policy.compiled import Jurisdiction, Policy, RecheckRules
from service.policy.holder import PolicyHolder
from service.policy.interactions import PartyKey
from service.policy.model import AbuseSignal
from service.store.records import AssuranceRecord
from service.store.reviews import RecheckRequest
from service.store.roles import RecheckStore, SingleUse, TimerStore

REASONS = ("reported_adult_posing_as_minor", "reported_minor_posing_as_adult", "moderator_request")


@dataclass(frozen=True, slots=True)
class RecheckRequests:
    """What a re-check request touches: the subject's record (its due day), the request, the app's
    webhook, and the sanction of a missed deadline (imposed once: the single-use markers)."""

    policy: PolicyHolder
    clock: Clock
    audit: Audit
    subjects: SubjectLookup
    rechecks: RecheckStore
    writing: RecordWriting
    publishing: events.Publishing
    abuse: AbuseControl
    once: SingleUse
    timers: TimerStore  # the worker looks at the subject today, then on the deadline's day


def _rules(policy: Policy, jurisdiction: str) -> tuple[Jurisdiction | None, RecheckRules]:
    juris = policy.jurisdictions.get(jurisdiction)
    return juris, juris.rechecks if juris else RecheckRules()


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


async def request_recheck(
    svc: RecheckRequests,
    client: Client,
    ref: SubjectRef,
    reason: str,
    min_level: str | None,
    deadline: datetime | None,
) -> RecheckRequest:
    record = await own_record(svc.subjects, client, ref)
    policy = svc.policy.current
    levels = policy.levels
    juris, rules = _rules(policy, record.jurisdiction)
    if min_level is not None and min_level not in levels:
        raise UnknownLevel("the level is not one of the policy's", known=list(levels.names))
    floor = rules.min_level or (juris.upgrade_level if juris else None) or levels.names[0]
    level = levels.highest([floor, min_level]) if min_level is not None else floor
    now = svc.clock.now()
    due = deadline if deadline is not None else now + rules.deadline
    if due.tzinfo is None:
        raise InvalidDeadline("the deadline needs a time zone (e.g. Z)")
    if due <= now or due > now + rules.max_deadline:
        raise InvalidDeadline(
            "the deadline must be in the future and within the policy's limit",
            max_deadline=(now + rules.max_deadline).isoformat(),
        )
    request = RecheckRequest(record.sid, client.id, reason, level, int(now.timestamp()), int(due.timestamp()))
    existing = await svc.rechecks.get_recheck(record.sid)
    if existing is not None and existing.client_id == client.id:
        # Asking again never loosens a request in force: the higher level, the earlier deadline.
        kept = [existing.min_level] if existing.min_level in levels else []
        request = replace(
            request,
            min_level=levels.highest([level, *kept]),
            requested_at=existing.requested_at,
            deadline=min(request.deadline, existing.deadline),
        )
    ttl = max(1, request.deadline - int(now.timestamp()) + int(rules.overdue.total_seconds()))
    await svc.rechecks.put_recheck(request, ttl)
    today = day_of(now)

    def due_now(current: AssuranceRecord | None) -> AssuranceRecord | None:
        # Into the app's due list at once: the record's re-check day moves to today, never later.
        if current is None or current.client_id != client.id or current.recheck_at <= today:
            return None
        return replace(current, recheck_at=today)

    await write_record(svc.writing, record.sid, due_now, record)
    # The worker's timer comes today (the due notice), and then on the deadline's day, so a missed
    # deadline is enforced even if the subject never refreshes again (see ``deadline_timer``).
    await svc.timers.schedule(client.id, record.sid, today, max(1, int(policy.retention.total_seconds())))
    svc.audit.emit(
        "recheck.requested", client=client.id, sid=record.sid, pol=policy.version,
        reason=request.reason, min_level=request.min_level, deadline=_iso(request.deadline),
    )  # fmt: skip
    data = {
        "sid": record.sid, "reason": request.reason, "min_level": request.min_level,
        "deadline": _iso(request.deadline),
    }  # fmt: skip
    await events.publish(svc.publishing, client.id, events.RECHECK_REQUESTED, data)
    return request


async def pending(svc: RecheckRequests, record: AssuranceRecord) -> RecheckRequest | None:
    """The request in force for the record's subject (of the same app), or None."""
    return of_record(await svc.rechecks.get_recheck(record.sid), record)


def of_record(request: RecheckRequest | None, record: AssuranceRecord) -> RecheckRequest | None:
    """``pending``'s judgement of a request already read: only the record's own app's counts."""
    return request if request is not None and request.client_id == record.client_id else None


def overdue(svc: RecheckRequests, request: RecheckRequest) -> bool:
    return svc.clock.now().timestamp() >= request.deadline


def deadline_day(svc: RecheckRequests, request: RecheckRequest | None) -> date | None:
    """The day the worker must look at a pending, not yet overdue request again: its deadline's."""
    if request is None or overdue(svc, request):
        return None
    return datetime.fromtimestamp(request.deadline, UTC).date()


async def enforce_deadline(svc: RecheckRequests, record: AssuranceRecord) -> date | None:
    """The worker's timer: impose the sanction of a request whose deadline passed (once, as
    refresh would); returns the day to look again while the request is still running."""
    request = await pending(svc, record)
    if request is not None and overdue(svc, request):
        await missed(svc, request, record)
    return deadline_day(svc, request)


def as_pending(policy: Policy, jurisdiction: str, key: PartyKey) -> PartyKey:
    """A party with a pending re-check, as decisions and refreshed tokens see it: the
    jurisdiction's ``pending_recheck`` rules (by default its upper edge counts as unconfirmed)."""
    band, level, upper = key
    _, rules = _rules(policy, jurisdiction)
    levels = policy.levels
    if not rules.keep_upper_level:
        upper = None
    cap = rules.max_level
    if (
        cap is not None
        and cap in levels
        and level is not None
        and level in levels
        and not levels.at_least(cap, level)
    ):
        level = cap
    return band, level, upper


def pending_record(policy: Policy, record: AssuranceRecord) -> AssuranceRecord:
    """The record as a refresh issues it while a re-check is pending (never stored)."""
    _, level, upper = as_pending(policy, record.jurisdiction, (record.band, record.level, record.upper_level))
    return replace(record, level=level or record.level, upper_level=upper)


async def pending_of(rechecks: RecheckStore, sids: Sequence[str], client_id: str) -> set[str]:
    """Which of these sids (of this app) have a re-check pending: one round trip."""
    unique = list(dict.fromkeys(sids))
    found = await rechecks.rechecks_of(unique)
    return {sid for sid, r in zip(unique, found, strict=True) if r is not None and r.client_id == client_id}


def satisfied(policy: Policy, request: RecheckRequest, record: AssuranceRecord) -> bool:
    """Whether a passing check's record settles the request: the edge that matters for the band it
    found is established at the request's level (a minor band's upper edge: 'at most 15'; any
    other band's lower edge)."""
    levels = policy.levels
    edge = record.upper_level if policy.is_minor_band(record.band) else record.level
    return (
        edge is not None
        and edge in levels
        and request.min_level in levels
        and levels.at_least(edge, request.min_level)
    )


async def after_pass(svc: RecheckRequests, record: AssuranceRecord, check_id: str) -> None:
    """A check passed: settle the request it satisfies, or keep the subject due."""
    request = await pending(svc, record)
    if request is None:
        return
    policy = svc.policy.current
    if not satisfied(policy, request, record):
        return  # the record the check wrote is already due today (see ``keeps_due``)
    await svc.rechecks.clear_recheck(record.sid)
    svc.audit.emit(
        "recheck.completed", client=record.client_id, sid=record.sid, check_id=check_id,
        pol=policy.version, reason=request.reason, band=record.band, min_level=request.min_level,
    )  # fmt: skip
    data = {"sid": record.sid, "reason": request.reason, "band": record.band, "level": record.level}
    await events.publish(svc.publishing, record.client_id, events.RECHECK_COMPLETED, data)


async def keeps_due(svc: RecheckRequests, sid: str, client_id: str) -> bool:
    """Whether a record about to be written must stay in the due list: a request is pending."""
    request = await svc.rechecks.get_recheck(sid)
    return request is not None and request.client_id == client_id


def missed_notice(svc: RecheckRequests, record: AssuranceRecord, locale: str | None) -> dict[str, str | None]:
    """Why refresh asks for a check after a missed deadline: the code and the policy's message."""
    juris = svc.policy.current.jurisdictions.get(record.jurisdiction)
    signal = AbuseSignal.RECHECK_MISSED
    return {
        "reason": signal.value,
        "consequence": abuse.consequence(svc.abuse, juris, signal, locale) if juris else None,
    }


async def missed(svc: RecheckRequests, request: RecheckRequest, record: AssuranceRecord) -> bool:
    """The deadline passed: impose the policy's ``recheck_missed`` sanction, once per request.
    True when a sanction (or a flag) was raised by this call."""
    ttl = max(1, int(svc.policy.current.retention.total_seconds()))
    if not await svc.once.use_once(f"recheck_missed|{request.sid}|{request.requested_at}", ttl):
        return False
    juris = svc.policy.current.jurisdictions.get(record.jurisdiction)
    if juris is None:
        return False
    svc.audit.emit(
        "recheck.missed", client=record.client_id, sid=record.sid, pol=svc.policy.current.version,
        reason=request.reason, deadline=_iso(request.deadline),
    )  # fmt: skip
    # Whatever the policy's sanction (or none, or one that does not notify), the app hears of it.
    data = {"sid": record.sid, "reason": request.reason, "deadline": _iso(request.deadline)}
    await events.publish(svc.publishing, record.client_id, events.RECHECK_MISSED, data)
    who = Concerned(record.client_id, record.sid, None, svc.policy.current.version)
    await abuse.impose(svc.abuse, who, juris, AbuseSignal.RECHECK_MISSED)
    return True
