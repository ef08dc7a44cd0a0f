"""What a method's outcome does to a check: a failure steps on or fails it; a signal narrows its
interval (successive validation) until a band is resolved at a level, then the check passes,
steps up or fails."""

from __future__ import annotations

from dataclasses import replace

from providers.base import Failure, Signal
from service.clients.registry import Client
from service.core.dates import day_of
from service.core.ids import is_one_time_sid
from service.core.intervals import AgeInterval
from service.core.resolution import Contradiction, Inconclusive, resolve
from service.flows import abuse, edges
from service.flows.check_completion import Assured, finish_failed, pass_anonymous, pass_check
from service.flows.check_flow import CheckFlow, check_view, next_names, offer, save_check
from service.flows.results import EvidenceResult
from service.policy.compiled import BAND_UPGRADE_NEEDS_LEVEL, SELF_DECLARATION, Jurisdiction, Method, Policy
from service.policy.model import AbuseSignal, OnExhausted, OnInconclusive
from service.store.records import AssuranceRecord, CheckState, SignalNote


def with_consequence(
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


async def after_failure(
    svc: CheckFlow, check: CheckState, juris: Jurisdiction, failure: Failure, locale: str | None
) -> EvidenceResult:
    if await next_names(svc, juris, check):
        await save_check(svc, check)
        svc.audit.emit(
            "check.attempt_failed", client=check.client_id, sid=check.sid,
            check_id=check.check_id, pol=check.policy_version, reason=failure.reason,
        )  # fmt: skip
    else:
        await finish_failed(svc, check, failure.reason)
    method = check.methods_tried[-1]
    signal = await abuse.count_failure(svc.abuse, check, juris, method, circumvention=failure.circumvention)
    result = EvidenceResult(await check_view(svc, check, locale), "failed", failure.reason, None)
    return with_consequence(svc, juris, result, signal, locale)


async def after_signal(
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
        await finish_failed(svc, check, "inconsistent_signals", circumvention=True)
        sanctioned = await abuse.inconsistent(svc.abuse, check, juris)
        result = EvidenceResult(await check_view(svc, check, locale), "failed", "inconsistent_signals", None)
        return with_consequence(svc, juris, result, sanctioned, locale)
    if isinstance(resolution, Inconclusive):
        mode = method.on_inconclusive or juris.on_inconclusive
        if mode is OnInconclusive.STEP_UP and await _untried(svc, juris, check):
            await save_check(svc, check)
            return EvidenceResult(await check_view(svc, check, locale), "inconclusive", "inconclusive", None)
        if mode is OnInconclusive.STEP_UP and juris.on_exhausted is OnExhausted.FAIL:
            await finish_failed(svc, check, "inconclusive")
            return EvidenceResult(await check_view(svc, check, locale), "failed", "inconclusive", None)
        # When in doubt, treat the user as younger.
        band = resolution.youngest.name
        band_level = policy.levels.highest(n.level for n in check.signals)
    else:
        band = resolution.band.name
        band_level = _level_for_band(policy, check, resolution.band.interval)

    need = await abuse.required_level(svc.abuse, check.sid, juris.required_level[band], check.device)
    if not policy.levels.at_least(band_level, need):
        if await _may_reach(svc, juris, check, need):
            await save_check(svc, check)
            return EvidenceResult(
                await check_view(svc, check, locale), "inconclusive", "insufficient_level", None
            )
        await finish_failed(svc, check, "insufficient_assurance")
        return EvidenceResult(await check_view(svc, check, locale), "failed", "insufficient_assurance", None)

    if is_one_time_sid(check.sid):
        move = edges.judge(policy, juris, None, check.signals, band, day_of(svc.clock.now()))
        upper = edges.confirmed_upper(policy, edges.upper_level(policy, check.signals, band), move)
        issued = await pass_anonymous(svc, check, method, Assured(band, band_level, upper), hand_over)
        return EvidenceResult(await check_view(svc, check, locale), "passed", None, issued)
    previous = await svc.records.get_record(check.sid)
    if previous is not None and previous.client_id != client.id:
        previous = None
    move = edges.judge(policy, juris, previous, check.signals, band, day_of(svc.clock.now()))
    if move.upgrade_refused:
        return await _upgrade_refused(svc, check, juris, previous, band, move.needs, locale)
    upper = edges.confirmed_upper(policy, edges.upper_level(policy, check.signals, band), move)
    age_up = signal.age_up_at if signal.interval.within(policy.bands.get(band).interval) else None
    token, sanctioned = await pass_check(
        svc, client, check, policy, juris, method, Assured(band, band_level, upper), age_up, move
    )
    result = EvidenceResult(await check_view(svc, check, locale), "passed", None, token)
    return with_consequence(svc, juris, result, sanctioned, locale)


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
        for m in await next_names(svc, juris, check)
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
        await save_check(svc, check)
        outcome = "inconclusive"
    else:
        await finish_failed(svc, check, reason)
        outcome = "failed"
    offers = tuple(offer(policy, policy.methods[m], locale) for m in names)
    return EvidenceResult(
        await check_view(svc, check, locale), outcome, reason, None,
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


async def _untried(svc: CheckFlow, juris: Jurisdiction, check: CheckState) -> list[str]:
    """Methods to step up to: trying a method again cannot narrow what it already said."""
    return [m for m in await next_names(svc, juris, check) if m not in check.methods_tried]


async def _may_reach(svc: CheckFlow, juris: Jurisdiction, check: CheckState, need: str) -> bool:
    """After a signal below the needed level: go on while a method is untried, or one with attempts
    left can give that level (e.g. an OS signal from a verified source, after a self-declared one)."""
    policy = svc.policy.current
    return any(
        m not in check.methods_tried or policy.levels.at_least(abuse.method_level(policy, m), need)
        for m in await next_names(svc, juris, check)
    )
