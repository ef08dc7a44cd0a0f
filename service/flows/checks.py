"""Start and read age checks: the waterfall's methods a check offers (those that settle a requested
re-check first), and its state."""

from __future__ import annotations

from dataclasses import replace

from service.clients.registry import Client
from service.core.ids import new_check_id, new_one_time_sid
from service.flows import abuse, appeals
from service.flows.appeals import APPEAL
from service.flows.check_completion import one_time_record
from service.flows.check_flow import (
    CONFIRM,
    CheckFlow,
    check_view,
    load_check,
    offer,
    ttl_seconds,
    usable_methods,
)
from service.flows.errors import AppealsNotOffered, JurisdictionNotAllowed, NoMethodAvailable
from service.flows.issuing import issue_token
from service.flows.results import CheckView, StartedCheck
from service.flows.subjects import SubjectRef, own_record, resolve_sid
from service.store.records import CheckState, SignalNote

# What a check without a subject may be for: a gate (e.g. "confirm you are 18 to see this page"),
# or a sign-up before the app has an account. The others need a band on record.
ANONYMOUS_PURPOSES = ("signup", "access")


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
    # written under it (see pass_anonymous).
    sid = new_one_time_sid() if anonymous else await resolve_sid(svc.subjects, client, ref)
    device = origin.device if origin is not None else None
    sanction = await abuse.guard(svc.abuse, sid, locale, device)  # a locked subject cannot start a check
    confirming = purpose == CONFIRM
    contested = await own_record(svc.subjects, client, SubjectRef(sid=sid)) if purpose == APPEAL else None
    floor = contested.level if contested is not None else None
    usable = usable_methods(svc, juris, upper_only=confirming, appeal_floor=floor)
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
    await svc.checks.track_check(sid, check.check_id, ttl_seconds(juris))
    await svc.checks.create_check(check, ttl_seconds(juris))
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
    check = await load_check(svc, client, check_id)
    token = None
    if take_token and check.band is not None and check.level is not None and not check.token_taken:
        check.token_taken = True
        if await svc.checks.update_check(check):  # CAS: of concurrent readers, one gets it
            token = issue_token(svc.issuing, one_time_record(svc, check), recheck_due=False)
    view = await check_view(svc, check, locale)
    return replace(view, token=token) if token is not None else view
