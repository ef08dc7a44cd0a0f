"""What a check flow touches (``CheckFlow``) and what each of its steps reads: the check loaded and
saved, the methods it still offers, and its view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from providers.registry import Registry
from service.audit.events import Audit
from service.clients.registry import Client
from service.core.clock import Clock
from service.core.ids import check_expiry
from service.flows import abuse, appeals
from service.flows.abuse import AbuseControl
from service.flows.appeals import Appeals
from service.flows.content_cascade import ContentCascade
from service.flows.errors import CheckBusy, CheckExpired, UnknownCheck
from service.flows.issuing import Issuing
from service.flows.lifecycle import Lifecycle
from service.flows.recheck_requests import RecheckRequests
from service.flows.records import RecordWriting
from service.flows.results import CheckView, MethodOffer
from service.flows.subjects import SubjectLookup
from service.observability.metrics import Metrics
from service.policy.compiled import Jurisdiction, Method, Policy
from service.policy.holder import PolicyHolder
from service.store.records import CheckState, CheckStatus
from service.store.roles import CheckStore, GuardianStore, RecordStore, SingleUse

CONFIRM = "confirm"  # the purpose of a check that corroborates the band on record


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


async def save_check(svc: CheckFlow, check: CheckState) -> None:
    if not await svc.checks.update_check(check):
        raise CheckBusy("the check changed meanwhile; fetch it and try again")


async def load_check(svc: CheckFlow, client: Client, check_id: str) -> CheckState:
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


def usable_methods(
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
        m
        for m in juris.waterfall
        if svc.providers.available(m) and (not upper_only or confirms_upper(methods[m]))
    ]


def confirms_upper(method: Method) -> bool:
    """Whether any signal of the method can establish a band's upper edge."""
    return method.upper_level_for(None) is not None or any(
        method.upper_level_for(q) is not None for q in method.qualifier_upper_levels
    )


async def next_names(svc: CheckFlow, juris: Jurisdiction, check: CheckState) -> list[str]:
    """Methods still worth offering: usable, attempts left, and able to reach the minimum level
    of a sanction in force (one imposed during this check too)."""
    if check.status is not CheckStatus.PENDING:
        return []
    left = juris.per_check_attempts - check.attempts
    if left <= 0:
        return []
    usable = usable_methods(svc, juris, upper_only=check.purpose == CONFIRM, appeal_floor=check.appeal_floor)
    names = [m for m in usable if check.methods_tried.count(m) < juris.per_method_attempts]
    return abuse.reaching(svc.policy.current, names, await abuse.in_force(svc.abuse, check.sid, check.device))


def offer(policy: Policy, method: Method, locale: str | None) -> MethodOffer:
    text = policy.text(method.description, locale) if method.description else method.name
    return MethodOffer(method.name, method.method_class, text)


async def check_view(svc: CheckFlow, check: CheckState, locale: str | None) -> CheckView:
    policy = svc.policy.current
    juris = policy.jurisdictions.get(check.jurisdiction)
    names = await next_names(svc, juris, check) if juris else []
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


def ttl_seconds(juris: Jurisdiction) -> int:
    return int(juris.check_ttl.total_seconds())
