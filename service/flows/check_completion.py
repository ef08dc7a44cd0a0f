"""A check completes: passed (the record stored and its token issued, or an anonymous check's
one-time token) or failed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from datetime import date

from service.clients.registry import Client
from service.core.dates import day_of, recheck_date
from service.flows import abuse, appeals, content_cascade, edges, guardians, lifecycle, recheck_requests
from service.flows.appeals import APPEAL
from service.flows.check_flow import CheckFlow, save_check
from service.flows.issuing import issue_token
from service.flows.records import write_record
from service.flows.results import IssuedToken
from service.policy.compiled import Jurisdiction, Method, Policy
from service.policy.model import AbuseSignal
from service.store.records import AssuranceRecord, CheckState, CheckStatus


@dataclass(frozen=True, slots=True)
class Assured:
    """What a passing check establishes: the band, and the level of each of its edges."""

    band: str
    level: str  # the lower edge ("at least 13")
    upper_level: str | None  # the upper edge ("at most 15"); None: not established


async def pass_check(
    svc: CheckFlow,
    client: Client,
    check: CheckState,
    policy: Policy,
    juris: Jurisdiction,
    method: Method,
    assured: Assured,
    age_up: date | None,
    move: edges.Move,
) -> tuple[IssuedToken, AbuseSignal | None]:
    """Store the record and issue the token; also the signal whose sanction the pass brought on."""
    band, level = assured.band, assured.level
    upper = assured.upper_level
    if svc.guardians is not None and policy.is_minor_band(band):
        held = await guardians.held_level(svc.pepper, svc.guardians, policy, check.sid, band)
        levels = policy.levels
        if held is not None and (upper is None or upper not in levels or not levels.at_least(upper, held)):
            upper = held  # the guardian's word still stands for this band, whatever this check found
    now = svc.clock.now()
    check.status = CheckStatus.PASSED
    await save_check(svc, check)  # the CAS makes this submission the only one that completes the check
    record = AssuranceRecord(
        sid=check.sid,
        client_id=client.id,
        band=band,
        level=level,
        method=method.method_class,
        jurisdiction=check.jurisdiction,
        assured_at=day_of(now),
        recheck_at=recheck_date(now, juris.recheck_interval(band, method.name)),
        age_up_at=age_up if policy.bands.next_after(band) is not None else None,
        policy_version=policy.version,
        upper_level=upper,
        lower_age=adult_lower_age(policy, check, band, level),
    )
    ttl = int(policy.retention.total_seconds())
    # A re-check the app demanded is settled by this check's own evidence, never by a guardian's
    # earlier word (the report may be what casts doubt on it).
    own = replace(record, upper_level=assured.upper_level)
    request = await recheck_requests.pending(svc.requests, record)
    if request is not None and not recheck_requests.satisfied(policy, request, own):
        # Not strong enough for the re-check the app demanded: the subject stays in its due list.
        record.recheck_at = min(record.recheck_at, day_of(now))

    def passed(previous: AssuranceRecord | None) -> AssuranceRecord:
        # A generation bumped by a sanction stays bumped; this pass is the new check that a
        # revocation asks for, so the tokens it brings are current.
        generation = previous.generation if previous is not None and previous.client_id == client.id else 0
        return replace(record, generation=generation, passed_generation=generation)

    try:
        previous, stored = await write_record(
            svc.writing, check.sid, passed, await svc.records.get_record(check.sid)
        )
        assert stored is not None  # noqa: S101 - ``passed`` always builds a record
        record = stored
    except Exception:
        # Leave no partial state: the check goes back to pending so the user can retry.
        check.status = CheckStatus.PENDING
        await svc.checks.update_check(check)
        raise
    ctx = {"client": client.id, "sid": check.sid, "check_id": check.check_id, "pol": policy.version}
    svc.audit.record_stored(fields=_RECORD_FIELDS, ttl=ttl, **ctx)
    svc.audit.emit("check.completed", outcome="passed", method_class=method.method_class, **ctx)
    await lifecycle.schedule(svc.lifecycle, record)
    await recheck_requests.after_pass(
        svc.requests, replace(record, upper_level=assured.upper_level), check.check_id
    )
    if check.purpose == APPEAL:
        await appeals.decide(svc.appeals, check, record)
    if svc.content is not None:
        await content_cascade.sync_subject(svc.content, record)
    signal = await abuse.after_pass(svc.abuse, check, juris, previous, record, move.adult_claims_minor)
    await lifecycle.check_completed(
        svc.lifecycle.publishing, client.id, check.sid, check.check_id, "passed", band=band, level=level,
        reason=None, upper_level=record.upper_level,
    )  # fmt: skip
    return issue_token(svc.issuing, record, recheck_due=False), signal


async def pass_anonymous(
    svc: CheckFlow, check: CheckState, method: Method, assured: Assured, hand_over: bool
) -> IssuedToken | None:
    """An anonymous check passed: no record, no re-check date, no sanction history; only the
    check (TTL ≤ 15 min) holds the band, for its one-time token. That token is issued now when
    the evidence came through the API, else kept for the app to take once (``get_check``)."""
    check.status = CheckStatus.PASSED
    check.band, check.level, check.upper_level = assured.band, assured.level, assured.upper_level
    check.token_taken = hand_over
    await save_check(svc, check)  # the CAS makes this submission the only one that completes the check
    svc.audit.emit(
        "check.completed", client=check.client_id, sid=check.sid, check_id=check.check_id,
        pol=check.policy_version, outcome="passed", method_class=method.method_class,
    )  # fmt: skip
    await lifecycle.check_completed(
        svc.lifecycle.publishing, check.client_id, check.sid, check.check_id, "passed", band=assured.band,
        level=assured.level, reason=None, upper_level=assured.upper_level,
    )  # fmt: skip
    return issue_token(svc.issuing, one_time_record(svc, check), recheck_due=False) if hand_over else None


def one_time_record(svc: CheckFlow, check: CheckState) -> AssuranceRecord:
    """What an anonymous check's token is made from: a record in memory only, never stored."""
    policy, now = svc.policy.current, svc.clock.now()
    name = check.methods_tried[-1] if check.methods_tried else ""
    method = policy.methods.get(name)
    juris = policy.jurisdictions.get(check.jurisdiction)
    assert check.band is not None and check.level is not None  # noqa: S101 - only for a passed check
    interval = juris.recheck_interval(check.band, name) if juris is not None and method is not None else None
    return AssuranceRecord(
        sid=check.sid,
        client_id=check.client_id,
        band=check.band,
        level=check.level,
        method=method.method_class if method is not None else name,
        jurisdiction=check.jurisdiction,
        assured_at=day_of(now),
        recheck_at=recheck_date(now, interval) if interval is not None else day_of(now),
        age_up_at=None,
        policy_version=check.policy_version,
        upper_level=check.upper_level,
    )


# Years of the lower edge that a record keeps at most: enough to age it back to any recording of
# the last two decades; more would say how old an adult is without serving a decision.
LOWER_AGE_CAP = 40


def adult_lower_age(policy: Policy, check: CheckState, band: str, level: str) -> int | None:
    """An adult's lower edge on the day of the check, from the signals at the record's level only
    (a weaker signal never lends its level to a higher edge); None for a minor band."""
    if policy.is_minor_band(band) or band not in policy.bands:
        return None
    levels = policy.levels
    edges = [s.lo for s in check.signals if s.level in levels and levels.at_least(s.level, level)]
    lo = max(edges, default=policy.bands.get(band).lo)
    return min(max(lo, policy.bands.get(band).lo), LOWER_AGE_CAP)


# What record.stored names: every field of the stored record, derived so it cannot drift.
_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(AssuranceRecord))


async def finish_failed(
    svc: CheckFlow, check: CheckState, reason: str, *, circumvention: bool = False
) -> None:
    check.status = CheckStatus.FAILED
    check.reason = reason
    await save_check(svc, check)
    svc.audit.emit(
        "check.completed", client=check.client_id, sid=check.sid, check_id=check.check_id,
        pol=check.policy_version, outcome="failed", reason=reason,
    )  # fmt: skip
    await lifecycle.check_completed(
        svc.lifecycle.publishing,
        check.client_id,
        check.sid,
        check.check_id,
        "failed",
        band=None,
        level=None,
        reason=reason,
        upper_level=None,
    )
    if check.purpose == APPEAL:
        await appeals.decide(svc.appeals, check, None)
    if svc.content is not None:  # a depicted person who fails a check no longer counts
        await content_cascade.flag_subject(
            svc.content, check.client_id, check.sid, content_cascade.RECHECK_FAILED
        )
    if circumvention:
        svc.audit.emit(
            "subject.flagged", client=check.client_id, sid=check.sid,
            check_id=check.check_id, pol=check.policy_version, reason=reason,
        )  # fmt: skip
