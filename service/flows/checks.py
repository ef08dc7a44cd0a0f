"""Start and advance age checks: the waterfall, successive validation, and the final record."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from providers.base import Failure, MethodParams, Outcome, Provider, ProviderContext, Signal
from providers.registry import Registry
from service.audit.events import Audit
from service.clients.registry import Client
from service.core.clock import Clock
from service.core.dates import day_of, recheck_date
from service.core.errors import AgebandError, InvalidEvidence, TooManyAttempts
from service.core.ids import check_expiry, is_one_time_sid, new_check_id, new_one_time_sid
from service.core.intervals import AgeInterval
from service.core.resolution import Contradiction, Inconclusive, resolve
from service.flows import (
    abuse,
    appeals,
    content_cascade,
    edges,
    evidence_errors,
    guardians,
    lifecycle,
    recheck_requests,
)
from service.flows.abuse import AbuseControl
from service.flows.appeals import APPEAL, Appeals
from service.flows.content_cascade import ContentCascade
from service.flows.errors import (
    AppealsNotOffered,
    CheckBusy,
    CheckClosed,
    CheckExpired,
    JurisdictionNotAllowed,
    MethodNotAllowed,
    MethodUnavailable,
    NoMethodAvailable,
    ProviderFailed,
    UnknownCheck,
    UnknownMethod,
)
from service.flows.issuing import Issuing, issue_token
from service.flows.lifecycle import Lifecycle
from service.flows.presentations import presentation_nonce, single_use
from service.flows.recheck_requests import RecheckRequests
from service.flows.records import RecordWriting, write_record
from service.flows.results import (
    CheckView,
    EvidenceResult,
    IssuedToken,
    MethodOffer,
    StartedCheck,
)
from service.flows.subjects import SubjectLookup, SubjectRef, own_record, resolve_sid
from service.observability.metrics import Metrics
from service.policy.compiled import BAND_UPGRADE_NEEDS_LEVEL, SELF_DECLARATION, Jurisdiction, Method, Policy
from service.policy.holder import PolicyHolder
from service.policy.model import AbuseSignal, OnExhausted, OnInconclusive
from service.store.records import AssuranceRecord, CheckState, CheckStatus, SignalNote
from service.store.roles import CheckStore, GuardianStore, RecordStore, SingleUse

CONFIRM = "confirm"  # the purpose of a check that corroborates the band on record
# What a check without a subject may be for: a gate (e.g. "confirm you are 18 to see this page"),
# or a sign-up before the app has an account. The others need a band on record.
ANONYMOUS_PURPOSES = ("signup", "access")


@dataclass(frozen=True, slots=True)
class CheckFlow:
    """What starting and advancing a check touches: the policy and providers, the check, the
    record a passing check writes (and the token it issues), and its collaborators."""

    policy: PolicyHolder
    providers: Registry
    clock: Clock
    pepper: bytes  # presentation nonces
    audit: Audit
    metrics: Metrics
    checks: CheckStore
    records: RecordStore  # the band on record: confirming checks and the edges a pass may move
    once: SingleUse  # a presentation counts once
    subjects: SubjectLookup
    abuse: AbuseControl
    lifecycle: Lifecycle
    writing: RecordWriting
    issuing: Issuing
    requests: RecheckRequests  # a re-check the app demanded: which methods, and whether a pass settles it
    appeals: Appeals  # a check that contests the band on record
    # The person's content items: a pass refreshes their copy of it, a failure flags them.
    content: ContentCascade | None = None
    # A guardian's confirmation of the band that still holds: a pass of that band keeps it.
    guardians: GuardianStore | None = None


async def start_check(
    svc: CheckFlow,
    client: Client,
    ref: SubjectRef,
    jurisdiction: str,
    purpose: str,
    locale: str | None,
    origin: abuse.Origin | None = None,
) -> StartedCheck:
    policy = svc.policy.current
    juris = policy.jurisdiction(jurisdiction)
    if not client.allows(jurisdiction):
        raise JurisdictionNotAllowed(f"client may not run checks for {jurisdiction!r}")
    anonymous = ref.subject is None and ref.sid is None
    if anonymous and purpose not in ANONYMOUS_PURPOSES:
        raise ValueError(f"an anonymous check cannot have purpose {purpose!r}")  # the API refuses it first
    # An anonymous check gets a one-time pseudonym: random, tied to nobody, and no record is ever
    # written under it (see _pass_anonymous).
    sid = new_one_time_sid() if anonymous else await resolve_sid(svc.subjects, client, ref)
    device = origin.device if origin is not None else None
    sanction = await abuse.guard(svc.abuse, sid, locale, device)  # a locked subject cannot start a check
    confirming = purpose == CONFIRM
    contested = await own_record(svc.subjects, client, SubjectRef(sid=sid)) if purpose == APPEAL else None
    floor = contested.level if contested is not None else None
    usable = _usable(svc, juris, upper_only=confirming, appeal_floor=floor)
    if contested is not None and not usable:
        raise AppealsNotOffered(
            "no appeal method stronger than the one that set the band is available here"
            if juris.appeal is not None
            else "this jurisdiction takes no appeals"
        )
    usable = abuse.strong_enough(svc.abuse, usable, sanction, locale, juris)
    usable = await _for_requested_recheck(svc, client, sid, usable)
    offers = [offer(policy, policy.methods[m], locale) for m in usable]
    if not offers:
        raise NoMethodAvailable("no method of this jurisdiction's waterfall is available")
    now = svc.clock.now()
    expires = now + juris.check_ttl
    check = CheckState(
        check_id=new_check_id(expires),
        client_id=client.id,
        sid=sid,
        jurisdiction=jurisdiction,
        purpose=purpose,
        policy_version=policy.version,
        created_at=int(now.timestamp()),
        expires_at=int(expires.timestamp()),
        device=device,
        appeal_floor=floor,
    )
    if confirming:
        record = await svc.records.get_record(sid)
        if record is not None and record.client_id == client.id and record.band in policy.bands:
            # The band on record is where the check starts: new evidence can narrow it (and so
            # confirm its upper edge) or contradict it, never move it.
            band = policy.bands.get(record.band)
            check.signals.append(SignalNote(record.level, band.lo, band.hi, record.method))
            check.interval_lo, check.interval_hi = band.lo, band.hi
    # Indexed first: a check erasure by sid cannot find must never exist.
    await svc.checks.track_check(sid, check.check_id, _ttl(juris))
    await svc.checks.create_check(check, _ttl(juris))
    svc.audit.emit(
        "check.started", client=client.id, sid=sid, check_id=check.check_id,
        pol=policy.version, jur=jurisdiction, purpose=purpose,
    )  # fmt: skip
    svc.metrics.check_started(jurisdiction, purpose)
    opened = None
    if contested is not None:
        opened = await appeals.open_appeal(svc.appeals, contested, juris, check.check_id, locale)
    return StartedCheck(
        check_id=check.check_id,
        sid=sid,
        expires_at=expires,
        method=offers[0],
        methods=offers,
        explanation_uses=offers[0].description,
        explanation_keeps=policy.text(policy.explanation_keeps, locale),
        explanation_why=policy.text(policy.explanation_why, locale),
        appeal_deadline=opened.deadline if opened else None,
        appeal_message=opened.message if opened else None,
    )


async def _for_requested_recheck(svc: CheckFlow, client: Client, sid: str, names: list[str]) -> list[str]:
    """With a re-check pending, the methods that can reach its level come first (only they settle
    it); the others stay offered after them, so a user is never left without a method."""
    request = await svc.requests.rechecks.get_recheck(sid)
    if (
        request is None
        or request.client_id != client.id
        or request.min_level not in svc.policy.current.levels
    ):
        return names
    policy = svc.policy.current

    def reaches(name: str) -> bool:
        method = policy.methods[name]
        best = [abuse.method_level(policy, name)]
        best += [lvl for lvl in (method.upper_level, *method.qualifier_upper_levels.values()) if lvl]
        return policy.levels.at_least(policy.levels.highest(best), request.min_level)

    return [n for n in names if reaches(n)] + [n for n in names if not reaches(n)]


async def get_check(
    svc: CheckFlow, client: Client, check_id: str, locale: str | None, *, take_token: bool = False
) -> CheckView:
    """The check's state; with ``take_token``, an anonymous check that passed on the hosted page
    also hands its one-time token over, to the first reader only."""
    check = await _load(svc, client, check_id)
    token = None
    if take_token and check.band is not None and check.level is not None and not check.token_taken:
        check.token_taken = True
        if await svc.checks.update_check(check):  # CAS: of concurrent readers, one gets it
            token = issue_token(svc.issuing, _one_time_record(svc, check), recheck_due=False)
    view = await _view(svc, check, locale)
    return replace(view, token=token) if token is not None else view


def _runnable(svc: CheckFlow, juris: Jurisdiction, method_name: str) -> Provider:
    """The method's provider, if it is enabled and up; else 503 ``method_unavailable``."""
    provider = svc.providers.get(method_name)
    if provider is None:
        raise MethodUnavailable(
            f"{method_name!r} is not enabled on this deployment", available=_usable(svc, juris)
        )
    down = provider.unavailable()
    if down is not None:
        # An open circuit knows when it may close: the answer's Retry-After says so.
        wait = {} if down.retry_after is None else {"retry_after": max(1, math.ceil(down.retry_after))}
        raise MethodUnavailable(
            f"{method_name!r} is not available on this deployment", available=_usable(svc, juris), **wait
        )
    return provider


async def submit_evidence(
    svc: CheckFlow,
    client: Client,
    check_id: str,
    method_name: str,
    evidence: dict[str, Any],
    size: int,
    locale: str | None,
    run: Callable[[ProviderContext], Awaitable[Outcome]] | None = None,
    origin: abuse.Origin | None = None,
    *,
    hand_over: bool = True,
) -> EvidenceResult:
    """Run one method on a check. ``run`` replaces the provider's ``submit`` for methods whose
    evidence does not arrive in a request body (a redirect provider's callback). ``hand_over``
    False (the hosted page, the eID callback): an anonymous check's one-time token is not issued
    now but kept for the app to take once with ``get_check``."""
    check = await _load(svc, client, check_id)
    if check.status is not CheckStatus.PENDING:
        raise CheckClosed(f"the check is {check.status.value}", status_now=check.status.value)
    policy = svc.policy.current
    juris = policy.jurisdiction(check.jurisdiction)
    method = policy.methods.get(method_name)
    if method is None:
        # Known: the waterfall's methods this deployment can run (not those whose provider is off).
        raise UnknownMethod("the method is not one of this jurisdiction's", known=_usable(svc, juris))
    _refuse_unoffered(svc, juris, check, method)
    provider = _runnable(svc, juris, method_name)
    if check.methods_tried.count(method_name) >= juris.per_method_attempts:
        raise MethodNotAllowed(
            f"no attempts left for {method_name!r}", allowed=await _next_names(svc, juris, check)
        )
    ctx = {"client": client.id, "sid": check.sid, "check_id": check.check_id, "pol": policy.version}
    claimed = await svc.checks.claim_attempt(check.check_id, juris.per_check_attempts, _ttl(juris))
    if claimed is None:
        await _finish_failed(svc, check, "attempts_exhausted")
        svc.metrics.check_submission(method_name, "attempts_exhausted")
        raise TooManyAttempts("this check has no attempts left")
    check.attempts = claimed
    try:
        origin = origin or abuse.Origin()
        check.device = origin.device or check.device
        await abuse.guard(svc.abuse, check.sid, locale, check.device)
        flagged = await abuse.count_attempt(svc.abuse, check, juris, method_name, origin, locale)
    except AgebandError:
        # Refused before the evidence is looked at (a lock, a rate limit): the check's attempt
        # goes back, so the store's count stays the check's own.
        await svc.checks.release_attempt(check.check_id)
        raise

    svc.audit.evidence_received(kind=method.method_class, size=size, attempt=claimed, **ctx)
    params = MethodParams(
        method.name, method.buffer, method.sigma_k, method.max_sigma, method.liveness, method.upper_margin
    )
    nonce = presentation_nonce(svc.pepper, check.check_id, method_name)
    pctx = ProviderContext(svc.clock.now(), policy.bands, params, nonce=nonce)
    call = (lambda: run(pctx)) if run is not None else (lambda: provider.submit(evidence, pctx))
    left = max(0, juris.per_check_attempts - claimed)
    outcome = await _call_provider(svc, check, method, evidence, claimed, left, ctx, call)

    check.methods_tried.append(method_name)
    outcome = await single_use(svc.once, outcome, _ttl(juris))
    if isinstance(outcome, Failure):
        result = await _after_failure(svc, check, juris, outcome, locale)
    else:
        svc.audit.signal_derived(attributes=outcome.attributes, **ctx)
        result = await _after_signal(svc, client, check, policy, juris, method, outcome, locale, hand_over)
    if result.sanction is None and flagged is not None:
        result = _with_consequence(svc, juris, result, flagged, locale)
    svc.metrics.check_submission(method_name, result.outcome)
    return result


def _refuse_unoffered(svc: CheckFlow, juris: Jurisdiction, check: CheckState, method: Method) -> None:
    """A method this check does not offer: not in the waterfall, not one that confirms a band (a
    confirming check), or not stronger than what set the band (an appeal)."""
    name, policy = method.name, svc.policy.current
    if check.appeal_floor is not None:
        refused = name not in appeals.stronger_methods(policy, juris, check.appeal_floor)
    else:
        refused = name not in juris.waterfall or (check.purpose == CONFIRM and not _confirms(method))
    if refused:
        raise MethodNotAllowed(
            f"{name!r} is not offered in {check.jurisdiction!r}"
            + (" to confirm a band" if check.purpose == CONFIRM else "")
            + (" for this appeal: it is not stronger than what set the band" if check.appeal_floor else ""),
            allowed=_usable(svc, juris, upper_only=check.purpose == CONFIRM, appeal_floor=check.appeal_floor),
        )


def _with_consequence(
    svc: CheckFlow,
    juris: Jurisdiction,
    result: EvidenceResult,
    signal: AbuseSignal | None,
    locale: str | None,
) -> EvidenceResult:
    """A sanction this submission brought on reaches the user: its code and the policy's message."""
    if signal is None:
        return result
    text = abuse.consequence(svc.abuse, juris, signal, locale)
    return replace(result, sanction=signal.value, consequence=text)


async def _call_provider(
    svc: CheckFlow,
    check: CheckState,
    method: Method,
    evidence: dict[str, Any],
    claimed: int,
    left: int,
    ctx: dict[str, str],
    call: Callable[[], Awaitable[Outcome]],
) -> Outcome:
    """One provider call; the evidence is dropped whatever happens.

    Evidence that does not parse still spends the attempt, so guessing costs the same (the next
    submission past the limit fails the check with attempts_exhausted). A 5xx is the vendor's or
    the service's failure, not the user's: a failed step leaves no partial state, so the attempt
    is given back and the check is not written. The per-sid, device and IP velocity counters keep
    the request: they limit load, not attempts. ``claimed`` is this attempt's number, ``left``
    what the check has left after it.
    """
    try:
        try:
            with (
                _vendor_failures(svc, kind=method.method_class, attempt=claimed, **ctx),
                svc.metrics.time_provider(method.name, expected=(InvalidEvidence,)),
            ):
                return await call()
        finally:
            evidence.clear()  # evidence lives only as long as the provider call
            svc.audit.evidence_discarded(kind=method.method_class, attempt=claimed, **ctx)
    except InvalidEvidence as exc:
        # None of the provider's texts or extras go on; what the check has left after this one does.
        rejected = evidence_errors.rebuild(exc, attempts_left=left)
        await _save(svc, check)
        raise rejected from None
    except AgebandError as exc:
        if exc.status >= 500:
            await svc.checks.release_attempt(check.check_id)
            svc.audit.emit("check.attempt_released", reason=exc.code, attempt=claimed, **ctx)
        raise


@contextmanager
def _vendor_failures(svc: CheckFlow, **facts: Any) -> Iterator[None]:
    """A provider's own exception may quote the evidence: the audit keeps its type and frames
    (the PII guard drops message and locals), and the caller gets a 502 with no word of it."""
    try:
        yield
    except AgebandError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a vendor raises becomes one safe error
        svc.audit.emit("provider.failed", exc_info=exc, **facts)
        raise ProviderFailed("the method's provider failed; try again or use another method") from None


async def _after_failure(
    svc: CheckFlow, check: CheckState, juris: Jurisdiction, failure: Failure, locale: str | None
) -> EvidenceResult:
    if await _next_names(svc, juris, check):
        await _save(svc, check)
        svc.audit.emit(
            "check.attempt_failed", client=check.client_id, sid=check.sid,
            check_id=check.check_id, pol=check.policy_version, reason=failure.reason,
        )  # fmt: skip
    else:
        await _finish_failed(svc, check, failure.reason)
    method = check.methods_tried[-1]
    signal = await abuse.count_failure(svc.abuse, check, juris, method, circumvention=failure.circumvention)
    result = EvidenceResult(await _view(svc, check, locale), "failed", failure.reason, None)
    return _with_consequence(svc, juris, result, signal, locale)


async def _after_signal(
    svc: CheckFlow,
    client: Client,
    check: CheckState,
    policy: Policy,
    juris: Jurisdiction,
    method: Method,
    signal: Signal,
    locale: str | None,
    hand_over: bool = True,
) -> EvidenceResult:
    level = method.level_for(signal.qualifier)
    upper = method.upper_level_for(signal.qualifier)
    at_most = signal.upper_bound if upper is not None else None
    check.signals.append(
        SignalNote(level, signal.interval.lo, signal.interval.hi, method.method_class, upper, at_most)
    )
    combined = _combined(check)
    check.interval_lo, check.interval_hi = combined.lo, combined.hi
    resolution = resolve(combined, policy.bands)

    if isinstance(resolution, Contradiction):
        await _finish_failed(svc, check, "inconsistent_signals", circumvention=True)
        sanctioned = await abuse.inconsistent(svc.abuse, check, juris)
        result = EvidenceResult(await _view(svc, check, locale), "failed", "inconsistent_signals", None)
        return _with_consequence(svc, juris, result, sanctioned, locale)
    if isinstance(resolution, Inconclusive):
        mode = method.on_inconclusive or juris.on_inconclusive
        if mode is OnInconclusive.STEP_UP and await _untried(svc, juris, check):
            await _save(svc, check)
            return EvidenceResult(await _view(svc, check, locale), "inconclusive", "inconclusive", None)
        if mode is OnInconclusive.STEP_UP and juris.on_exhausted is OnExhausted.FAIL:
            await _finish_failed(svc, check, "inconclusive")
            return EvidenceResult(await _view(svc, check, locale), "failed", "inconclusive", None)
        # When in doubt, treat the user as younger.
        band = resolution.youngest.name
        band_level = policy.levels.highest(n.level for n in check.signals)
    else:
        band = resolution.band.name
        band_level = _level_for_band(policy, check, resolution.band.interval)

    need = await abuse.required_level(svc.abuse, check.sid, juris.required_level[band], check.device)
    if not policy.levels.at_least(band_level, need):
        if await _may_reach(svc, juris, check, need):
            await _save(svc, check)
            return EvidenceResult(await _view(svc, check, locale), "inconclusive", "insufficient_level", None)
        await _finish_failed(svc, check, "insufficient_assurance")
        return EvidenceResult(await _view(svc, check, locale), "failed", "insufficient_assurance", None)

    if is_one_time_sid(check.sid):
        move = edges.judge(policy, juris, None, check.signals, band, day_of(svc.clock.now()))
        upper = edges.confirmed_upper(policy, edges.upper_level(policy, check.signals, band), move)
        issued = await _pass_anonymous(svc, check, method, Assured(band, band_level, upper), hand_over)
        return EvidenceResult(await _view(svc, check, locale), "passed", None, issued)
    previous = await svc.records.get_record(check.sid)
    if previous is not None and previous.client_id != client.id:
        previous = None
    move = edges.judge(policy, juris, previous, check.signals, band, day_of(svc.clock.now()))
    if move.upgrade_refused:
        return await _upgrade_refused(svc, check, juris, previous, band, move.needs, locale)
    upper = edges.confirmed_upper(policy, edges.upper_level(policy, check.signals, band), move)
    age_up = signal.age_up_at if signal.interval.within(policy.bands.get(band).interval) else None
    token, sanctioned = await _pass(
        svc, client, check, policy, juris, method, Assured(band, band_level, upper), age_up, move
    )
    result = EvidenceResult(await _view(svc, check, locale), "passed", None, token)
    return _with_consequence(svc, juris, result, sanctioned, locale)


async def _upgrade_refused(
    svc: CheckFlow,
    check: CheckState,
    juris: Jurisdiction,
    previous: AssuranceRecord | None,
    band: str,
    needs: str | None,
    locale: str | None,
) -> EvidenceResult:
    """The check would move the record's band older without the evidence to: the band on record
    stays. The check goes on while a method that could prove it is left, else it fails."""
    policy = svc.policy.current
    floor = needs or policy.levels.names[0]
    names = [
        m
        for m in await _next_names(svc, juris, check)
        if policy.methods[m].method_class != SELF_DECLARATION
        and policy.levels.at_least(abuse.method_level(policy, m), floor)
    ]
    reason = BAND_UPGRADE_NEEDS_LEVEL
    svc.audit.emit(
        "band.upgrade_refused", client=check.client_id, sid=check.sid, check_id=check.check_id,
        pol=check.policy_version, band_from=previous.band if previous else None, band_to=band,
        min_level=floor, methods=names,
    )  # fmt: skip
    if names:
        await _save(svc, check)
        outcome = "inconclusive"
    else:
        await _finish_failed(svc, check, reason)
        outcome = "failed"
    offers = tuple(offer(policy, policy.methods[m], locale) for m in names)
    return EvidenceResult(
        await _view(svc, check, locale), outcome, reason, None,
        consequence=policy.message(reason, locale), methods=offers, min_level=floor,
    )  # fmt: skip


def _combined(check: CheckState) -> AgeInterval:
    out = AgeInterval(0, None)
    for n in check.signals:
        out = out.intersect(AgeInterval(n.lo, n.hi))
    return out


def _level_for_band(policy: Policy, check: CheckState, band: AgeInterval) -> str:
    """The highest level among signals that alone place the user in the band.

    A weak signal narrowed by a strong one that does not itself prove the band keeps the weak
    signal's level: successive validation never launders a claim into a higher level.
    """
    proving = [n.level for n in check.signals if AgeInterval(n.lo, n.hi).within(band)]
    if proving:
        return policy.levels.highest(proving)
    return min((n.level for n in check.signals), key=policy.levels.rank)


@dataclass(frozen=True, slots=True)
class Assured:
    """What a passing check establishes: the band, and the level of each of its edges."""

    band: str
    level: str  # the lower edge ("at least 13")
    upper_level: str | None  # the upper edge ("at most 15"); None: not established


async def _pass(
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
    await _save(svc, check)  # the CAS makes this submission the only one that completes the check
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


async def _pass_anonymous(
    svc: CheckFlow, check: CheckState, method: Method, assured: Assured, hand_over: bool
) -> IssuedToken | None:
    """An anonymous check passed: no record, no re-check date, no sanction history; only the
    check (TTL ≤ 15 min) holds the band, for its one-time token. That token is issued now when
    the evidence came through the API, else kept for the app to take once (``get_check``)."""
    check.status = CheckStatus.PASSED
    check.band, check.level, check.upper_level = assured.band, assured.level, assured.upper_level
    check.token_taken = hand_over
    await _save(svc, check)  # the CAS makes this submission the only one that completes the check
    svc.audit.emit(
        "check.completed", client=check.client_id, sid=check.sid, check_id=check.check_id,
        pol=check.policy_version, outcome="passed", method_class=method.method_class,
    )  # fmt: skip
    await lifecycle.check_completed(
        svc.lifecycle.publishing, check.client_id, check.sid, check.check_id, "passed", band=assured.band,
        level=assured.level, reason=None, upper_level=assured.upper_level,
    )  # fmt: skip
    return issue_token(svc.issuing, _one_time_record(svc, check), recheck_due=False) if hand_over else None


def _one_time_record(svc: CheckFlow, check: CheckState) -> AssuranceRecord:
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


async def _finish_failed(
    svc: CheckFlow, check: CheckState, reason: str, *, circumvention: bool = False
) -> None:
    check.status = CheckStatus.FAILED
    check.reason = reason
    await _save(svc, check)
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


async def _save(svc: CheckFlow, check: CheckState) -> None:
    if not await svc.checks.update_check(check):
        raise CheckBusy("the check changed meanwhile; fetch it and try again")


async def _load(svc: CheckFlow, client: Client, check_id: str) -> CheckState:
    expiry = check_expiry(check_id)
    if expiry is None:
        raise UnknownCheck("unknown check")
    now = svc.clock.now().timestamp()
    check = await svc.checks.get_check(check_id)
    if check is None or check.client_id != client.id:
        if check is None and expiry <= now:
            raise CheckExpired("the check has expired; start a new one")
        raise UnknownCheck("unknown check")
    if check.expires_at <= now:
        raise CheckExpired("the check has expired; start a new one")
    return check


def _usable(
    svc: CheckFlow, juris: Jurisdiction, *, upper_only: bool = False, appeal_floor: str | None = None
) -> list[str]:
    """The waterfall's methods this deployment can run; with ``upper_only``, only those that can
    establish a band's upper edge (a confirming check); with ``appeal_floor``, the appeal's methods
    stronger than that level instead (an appeal)."""
    policy = svc.policy.current
    if appeal_floor is not None:
        return [
            m for m in appeals.stronger_methods(policy, juris, appeal_floor) if svc.providers.available(m)
        ]
    methods = policy.methods
    return [
        m for m in juris.waterfall if svc.providers.available(m) and (not upper_only or _confirms(methods[m]))
    ]


def _confirms(method: Method) -> bool:
    """Whether any signal of the method can establish a band's upper edge."""
    return method.upper_level_for(None) is not None or any(
        method.upper_level_for(q) is not None for q in method.qualifier_upper_levels
    )


async def _next_names(svc: CheckFlow, juris: Jurisdiction, check: CheckState) -> list[str]:
    """Methods still worth offering: usable, attempts left, and able to reach the minimum level
    of a sanction in force (one imposed during this check too)."""
    if check.status is not CheckStatus.PENDING:
        return []
    left = juris.per_check_attempts - check.attempts
    if left <= 0:
        return []
    usable = _usable(svc, juris, upper_only=check.purpose == CONFIRM, appeal_floor=check.appeal_floor)
    names = [m for m in usable if check.methods_tried.count(m) < juris.per_method_attempts]
    return abuse.reaching(svc.policy.current, names, await abuse.in_force(svc.abuse, check.sid, check.device))


async def _untried(svc: CheckFlow, juris: Jurisdiction, check: CheckState) -> list[str]:
    """Methods to step up to: trying a method again cannot narrow what it already said."""
    return [m for m in await _next_names(svc, juris, check) if m not in check.methods_tried]


async def _may_reach(svc: CheckFlow, juris: Jurisdiction, check: CheckState, need: str) -> bool:
    """After a signal below the needed level: go on while a method is untried, or one with attempts
    left can give that level (e.g. an OS signal from a verified source, after a self-declared one)."""
    policy = svc.policy.current
    return any(
        m not in check.methods_tried or policy.levels.at_least(abuse.method_level(policy, m), need)
        for m in await _next_names(svc, juris, check)
    )


def offer(policy: Policy, method: Method, locale: str | None) -> MethodOffer:
    text = policy.text(method.description, locale) if method.description else method.name
    return MethodOffer(method.name, method.method_class, text)


async def _view(svc: CheckFlow, check: CheckState, locale: str | None) -> CheckView:
    policy = svc.policy.current
    juris = policy.jurisdictions.get(check.jurisdiction)
    names = await _next_names(svc, juris, check) if juris else []
    nxt = next((n for n in names if n not in check.methods_tried), names[0] if names else None)
    return CheckView(
        check_id=check.check_id,
        status=check.status,
        jurisdiction=check.jurisdiction,
        purpose=check.purpose,
        expires_at=datetime.fromtimestamp(check.expires_at, UTC),
        methods_tried=list(check.methods_tried),
        attempts_left=max(0, (juris.per_check_attempts if juris else 0) - check.attempts),
        next_method=offer(policy, policy.methods[nxt], locale) if nxt else None,
        reason=check.reason,
    )


def _ttl(juris: Jurisdiction) -> int:
    return int(juris.check_ttl.total_seconds())
