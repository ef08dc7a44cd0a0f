"""Token use cases: refresh, introspect (RFC 7662), revoke and erase."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from service.audit.events import Audit
from service.audit.subjects import SubjectRefs
from service.clients.registry import Client
from service.core.clock import Clock
from service.core.dates import start_of_day
from service.core.errors import AgebandError
from service.core.ids import is_one_time_sid
from service.flows import abuse, content_cascade, deterrence, events, lifecycle, recheck_requests
from service.flows.abuse import AbuseControl
from service.flows.check_flow import CheckFlow
from service.flows.checks import start_check
from service.flows.content_cascade import ContentCascade
from service.flows.errors import RecheckRequired
from service.flows.events import Publishing
from service.flows.issuing import Issuing, issue_token
from service.flows.lifecycle import Lifecycle
from service.flows.recheck_requests import RecheckRequests
from service.flows.results import IssuedToken
from service.flows.subjects import SubjectLookup, SubjectRef, erasable, own_record, owned, sid_of
from service.observability.metrics import Metrics
from service.policy.holder import PolicyHolder
from service.store.roles import (
    AppealStore,
    CheckStore,
    ConnectionStore,
    CounterStore,
    EventStream,
    GuardianStore,
    PageStore,
    RecheckStore,
    RecordStore,
    RevocationStore,
    SanctionStore,
    SubjectState,
    SubjectStateStore,
    TimerStore,
)
from service.tokens.verifier import TokenVerifier


@dataclass(frozen=True, slots=True)
class TokenFlow:
    """What refresh and introspection touch: the subject's record, re-check request, sanction and
    revocation marker (one read), the age-up, a new check when one is due, and the signer."""

    policy: PolicyHolder
    clock: Clock
    audit: Audit
    metrics: Metrics
    verifier: TokenVerifier
    revocations: RevocationStore  # an anonymous token's marker (it has no record)
    subjects: SubjectLookup
    abuse: AbuseControl
    lifecycle: Lifecycle
    issuing: Issuing
    checking: CheckFlow  # the re-check refresh starts
    requests: RecheckRequests  # a re-check the app demanded: pending rules, its deadline
    states: SubjectStateStore  # the subject's keys refresh and introspection read, in one round trip


@dataclass(frozen=True, slots=True)
class SubjectRemoval:
    """What revoking and erasing a subject touch: every role that may hold something of it."""

    clock: Clock
    # The erased sid's keyed reference in the audit trail, and its audit key, shredded.
    subject_refs: SubjectRefs
    audit: Audit
    # Revocation markers outlive every token they void: lifetime + leeway + verifier cache.
    revocation_ttl: int
    subjects: SubjectLookup
    records: RecordStore
    revocations: RevocationStore
    checks: CheckStore
    timers: TimerStore
    sanctions: SanctionStore
    counters: CounterStore
    events: EventStream
    publishing: Publishing
    rechecks: RecheckStore
    appeals: AppealStore
    guardians: GuardianStore  # a guardian link names both sides: either's erasure removes it
    connections: ConnectionStore  # so does a trusted connection
    pages: PageStore  # the hosted page's links and sessions of the subject's checks
    # The person's content items: a revocation or erasure makes them unpublishable.
    content: ContentCascade | None = None


async def refresh(svc: TokenFlow, client: Client, ref: SubjectRef, locale: str | None = None) -> IssuedToken:
    # The record, the app's re-check request and the sanction, read at once: one round trip.
    sid = sid_of(svc.subjects, client, ref)
    state = await svc.states.subject_state(sid) if sid else SubjectState(None, None, None, None)
    record = owned(state.record, client)
    policy = svc.policy.current
    now = svc.clock.now()
    juris = policy.jurisdictions.get(record.jurisdiction)
    grace = juris.grace if juris else timedelta(0)
    recheck_at = start_of_day(record.recheck_at)
    # A sanction's lock answers 429 here; a sanction's minimum level above the record's asks for a
    # check, and so do tokens voided by a sanction since the last passing check (lock over or not).
    expired = now >= recheck_at + grace
    requested = recheck_requests.of_record(state.recheck, record)
    if requested is not None and not recheck_requests.overdue(svc.requests, requested):
        # The request's deadline governs, unless the record was due before the request came.
        asked = datetime.fromtimestamp(requested.requested_at, UTC).date()
        expired = expired and record.recheck_at < asked
    missed = requested is not None and recheck_requests.overdue(svc.requests, requested)
    held = state.sanction
    if missed and requested is not None and await recheck_requests.missed(svc.requests, requested, record):
        held = await abuse.in_force(svc.abuse, record.sid, None)  # with the one just imposed
    sanction = None if expired else abuse.needs_recheck(svc.abuse, record, held, locale)
    voided = abuse.tokens_voided(record)
    if expired or missed or sanction is not None or voided:
        svc.metrics.refresh("recheck_required")
        started = await start_check(
            svc.checking, client, SubjectRef(sid=record.sid), record.jurisdiction, "recheck", locale
        )
        if sanction is not None:
            why, notice = "a sanction is in force", abuse.notice(svc.abuse, sanction, locale)
        elif missed:
            why, notice = (
                "the re-check the app asked for was not done by its deadline",
                recheck_requests.missed_notice(svc.requests, record, locale),
            )
        elif voided:
            why, notice = (
                "a sanction revoked this subject's tokens",
                abuse.voided_notice(svc.abuse, record, locale),
            )
        else:
            why, notice = "the re-check date and its grace period have passed", {}
        raise RecheckRequired(
            f"{why}; complete the new check",
            check_id=started.check_id,
            method=started.method.name,
            methods=[m.name for m in started.methods],
            # The sanction's code and the policy's message, so the user learns why and what follows.
            **notice,
        )
    record = await lifecycle.age_up(svc.lifecycle, record)
    if requested is not None:
        # Until the re-check is done, the token says so and carries the pending_recheck view.
        svc.metrics.refresh("issued_recheck_due")
        issued = issue_token(svc.issuing, recheck_requests.pending_record(policy, record), recheck_due=True)
        return replace(
            issued,
            recheck_reason=requested.reason,
            recheck_deadline=datetime.fromtimestamp(requested.deadline, UTC),
        )
    svc.metrics.refresh("issued_recheck_due" if now >= recheck_at else "issued")
    return issue_token(svc.issuing, record, recheck_due=now >= recheck_at)


@dataclass(frozen=True, slots=True)
class Introspection:
    active: bool
    claims: dict[str, Any] | None = None


async def introspect(svc: TokenFlow, client: Client, token: str) -> Introspection:
    try:
        claims = svc.verifier.verify(token, audience=client.id)
    except AgebandError as exc:
        svc.audit.emit("token.rejected", client=client.id, reason=str(exc)[:120])
        svc.metrics.introspection(active=False)
        return Introspection(active=False)
    # An anonymous check's token has no record behind it, by design: its signature, lifetime and
    # a revocation marker are all there is to it. Otherwise the marker and the record: one read.
    anonymous = is_one_time_sid(claims.sub)
    if anonymous:
        revoked, record = await svc.revocations.revoked_at(claims.sub), None
    else:
        state = await svc.states.subject_state(claims.sub)
        revoked, record = state.revoked_at, state.record
    if (revoked is not None and claims.iat <= revoked) or (
        not anonymous
        and (
            record is None
            or record.client_id != client.id
            or abuse.tokens_voided(record)  # outlasts the marker: void until a new check passes
        )
    ):
        svc.audit.emit("token.rejected", client=client.id, sid=claims.sub, reason="revoked_or_erased")
        svc.metrics.introspection(active=False)
        return Introspection(active=False)
    svc.metrics.introspection(active=True)
    return Introspection(
        active=True,
        claims={
            "client_id": claims.aud,
            "token_type": "ageband+jwt",
            "iss": claims.iss,
            "aud": claims.aud,
            "sub": claims.sub,
            "iat": claims.iat,
            "exp": claims.exp,
            "jti": claims.jti,
            "age_band": claims.age_band,
            "level": claims.level,
            "upper_level": claims.upper_level,
            "method": claims.method,
            "jur": claims.jur,
            "pol": claims.pol,
            "recheck_at": claims.recheck_at,
        },
    )


async def revoke(svc: SubjectRemoval, client: Client, ref: SubjectRef) -> None:
    """Void every outstanding token and drop the record."""
    sid = (await own_record(svc.subjects, client, ref)).sid
    await svc.revocations.revoke(sid, int(svc.clock.now().timestamp()), svc.revocation_ttl)
    await svc.records.delete_record(sid, client.id)
    await svc.rechecks.clear_recheck(sid)  # nothing left to re-check: the next check starts afresh
    await svc.appeals.clear_appeal(sid)
    await svc.guardians.erase_links(sid)
    await svc.connections.erase_connections(sid)
    if svc.content is not None:
        await content_cascade.flag_subject(svc.content, client.id, sid, content_cascade.REVOKED)
    svc.audit.emit("subject.revoked", client=client.id, sid=sid)
    await events.publish(svc.publishing, client.id, events.REVOKED, {"sid": sid, "reason": "app_request"})


async def erase(svc: SubjectRemoval, client: Client, ref: SubjectRef) -> bool:
    """Erase every key of the subject; whether a record or check of it was still stored.

    Idempotent: a repeated erasure finds nothing and is no error. Erasure is revocation too:
    only the revocation marker (a timestamp that must outlive the record to void issued tokens)
    stays, until its short TTL ends.
    """
    target = await erasable(svc.subjects, client, ref)
    if target is None:
        return False
    sid, checks, dropped = target.sid, 0, 0
    if target.found:
        await svc.revocations.revoke(sid, int(svc.clock.now().timestamp()), svc.revocation_ttl)
        await svc.records.delete_record(sid, client.id)
    if target.sweep:
        # The page links and sessions of the sid's checks go first: erase_checks takes the index.
        for check_id in await svc.checks.subject_checks(sid):
            await svc.pages.erase_pages(check_id)
        checks = await svc.checks.erase_checks(sid)  # open and just-finished checks included
        await svc.rechecks.clear_recheck(sid)
        await svc.appeals.clear_appeal(sid)
        await svc.guardians.erase_links(sid)
        await svc.connections.erase_connections(sid)
        await svc.timers.unschedule(client.id, sid)
        await svc.sanctions.clear_sanction(sid)
        await svc.counters.clear_counters(
            sid, [abuse.ATTEMPTS, abuse.FAILURES, abuse.SHOPPING, deterrence.SCOPE]
        )
        # Webhook events not yet delivered (queued, retrying or dead-lettered) name the sid too.
        dropped = await svc.events.erase_events(sid)
        if svc.content is not None:  # the items keep a flag in the person's place, not the sid
            await content_cascade.flag_subject(svc.content, client.id, sid, content_cascade.ERASED)
    # Every earlier audit event names the subject only by a hash under its own audit key:
    # deleting the key unties them from it (each time: an earlier erasure may have been cut
    # short, and events after it start a new key).
    svc.subject_refs.shred(sid)
    # The erased sid stays out of the trail: a keyed hash lets its holder find the event. No sid
    # is passed, so the event carries no sid_hash that would tie it to the events before.
    svc.audit.subject_erased(
        client=client.id, sid_ref=svc.subject_refs.erasure_ref(sid), count=checks, events=dropped,
        outcome="erased" if target.found else "nothing_stored",
    )  # fmt: skip
    return target.found
