"""Submit evidence to a check: the method's provider called once, the attempt counted, and the
evidence dropped whatever happens."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from providers.base import Failure, MethodParams, Outcome, Provider, ProviderContext
from service.clients.registry import Client
from service.core.errors import AgebandError, InvalidEvidence, TooManyAttempts
from service.flows import abuse, appeals, evidence_errors
from service.flows.check_completion import finish_failed
from service.flows.check_flow import (
    CONFIRM,
    CheckFlow,
    confirms_upper,
    load_check,
    next_names,
    save_check,
    ttl_seconds,
    usable_methods,
)
from service.flows.check_outcomes import after_failure, after_signal, with_consequence
from service.flows.errors import (
    CheckClosed,
    MethodNotAllowed,
    MethodUnavailable,
    ProviderFailed,
    UnknownMethod,
)
from service.flows.presentations import presentation_nonce, single_use
from service.flows.results import EvidenceResult
from service.policy.compiled import Jurisdiction, Method
from service.store.records import CheckState, CheckStatus


def _runnable(svc: CheckFlow, juris: Jurisdiction, method_name: str) -> Provider:
    """The method's provider, if it is enabled and up; else 503 ``method_unavailable``."""
    provider = svc.providers.get(method_name)
    if provider is None:
        raise MethodUnavailable(
            f"{method_name!r} is not enabled on this deployment", available=usable_methods(svc, juris)
        )
    down = provider.unavailable()
    if down is not None:
        # An open circuit knows when it may close: the answer's Retry-After says so.
        wait = {} if down.retry_after is None else {"retry_after": max(1, math.ceil(down.retry_after))}
        raise MethodUnavailable(
            f"{method_name!r} is not available on this deployment",
            available=usable_methods(svc, juris),
            **wait,
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
    check = await load_check(svc, client, check_id)
    if check.status is not CheckStatus.PENDING:
        raise CheckClosed(f"the check is {check.status.value}", status_now=check.status.value)
    policy = svc.policy.current
    juris = policy.jurisdiction(check.jurisdiction)
    method = policy.methods.get(method_name)
    if method is None:
        # Known: the waterfall's methods this deployment can run (not those whose provider is off).
        raise UnknownMethod("the method is not one of this jurisdiction's", known=usable_methods(svc, juris))
    _refuse_unoffered(svc, juris, check, method)
    provider = _runnable(svc, juris, method_name)
    if check.methods_tried.count(method_name) >= juris.per_method_attempts:
        raise MethodNotAllowed(
            f"no attempts left for {method_name!r}", allowed=await next_names(svc, juris, check)
        )
    ctx = {"client": client.id, "sid": check.sid, "check_id": check.check_id, "pol": policy.version}
    claimed = await svc.checks.claim_attempt(check.check_id, juris.per_check_attempts, ttl_seconds(juris))
    if claimed is None:
        await finish_failed(svc, check, "attempts_exhausted")
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
    outcome = await single_use(svc.once, outcome, ttl_seconds(juris))
    if isinstance(outcome, Failure):
        result = await after_failure(svc, check, juris, outcome, locale)
    else:
        svc.audit.signal_derived(attributes=outcome.attributes, **ctx)
        result = await after_signal(svc, client, check, policy, juris, method, outcome, locale, hand_over)
    if result.sanction is None and flagged is not None:
        result = with_consequence(svc, juris, result, flagged, locale)
    svc.metrics.check_submission(method_name, result.outcome)
    return result


def _refuse_unoffered(svc: CheckFlow, juris: Jurisdiction, check: CheckState, method: Method) -> None:
    """A method this check does not offer: not in the waterfall, not one that confirms a band (a
    confirming check), or not stronger than what set the band (an appeal)."""
    name, policy = method.name, svc.policy.current
    if check.appeal_floor is not None:
        refused = name not in appeals.stronger_methods(policy, juris, check.appeal_floor)
    else:
        refused = name not in juris.waterfall or (check.purpose == CONFIRM and not confirms_upper(method))
    if refused:
        raise MethodNotAllowed(
            f"{name!r} is not offered in {check.jurisdiction!r}"
            + (" to confirm a band" if check.purpose == CONFIRM else "")
            + (" for this appeal: it is not stronger than what set the band" if check.appeal_floor else ""),
            allowed=usable_methods(
                svc, juris, upper_only=check.purpose == CONFIRM, appeal_floor=check.appeal_floor
            ),
        )


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
        await save_check(svc, check)
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
