"""Decisions: may this actor do this action to this target, in this jurisdiction?

Answers come from the tables the policy compiled at load time; explanations re-run the rules'
evaluator, which built those tables. Parties are given as a band (and level) or as an age-band
token of the caller's, verified once and cached until it expires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from service.clients.registry import Client
from service.core.errors import AgebandError
from service.flows.context import Services
from service.flows.errors import JurisdictionNotAllowed
from service.policy.compiled import Jurisdiction, Policy
from service.policy.interactions import Outcome, PartyKey, Step, evaluate
from service.policy.rule_loader import scope_of
from service.policy.tables import UnknownParty, normalize

SHOW_SAFETY_RESOURCES = "show_safety_resources"
INVALID_TOKEN = Outcome(False, "invalid-token", "invalid_token", {"en": "This is not allowed."}, ())


class Target(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def band(self) -> str | None: ...
    @property
    def level(self) -> str | None: ...
    @property
    def token(self) -> str | None: ...


class TokenWithBand(AgebandError):
    status = 422
    code = "validation_failed"
    title = "Validation failed"


class InvalidPartyToken(AgebandError):
    status = 400
    code = "invalid_party_token"
    title = "A party's token is not valid"


@dataclass(frozen=True, slots=True)
class PartyIn:
    band: str | None = None
    level: str | None = None
    token: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    outcome: Outcome
    message: str
    safety_resources: tuple[Mapping[str, str], ...]
    policy_version: str
    trace: list[Step] | None


@dataclass(frozen=True, slots=True)
class BatchDecision:
    allowed_ids: list[str]
    denied: int
    reasons: dict[str, Outcome] | None
    policy_version: str


def _key(svc: Services, client: Client, party: PartyIn, now: float, which: str) -> PartyKey:
    if party.token is None:
        return (party.band, party.level)
    try:
        verified = svc.token_cache.verify(svc.verifier, party.token, audience=client.id, now=now)
    except AgebandError as exc:
        svc.audit.emit("token.rejected", client=client.id, reason=str(exc)[:120], kind=which)
        raise InvalidPartyToken(f"the {which}'s token is not valid", party=which) from None
    return (verified.band, verified.level)


def _jurisdiction(policy: Policy, client: Client, code: str) -> Jurisdiction:
    if not client.allows(code):
        raise JurisdictionNotAllowed("the client may not ask for decisions in this jurisdiction")
    return policy.jurisdiction(code)


def safety_resources(juris: Jurisdiction, country: str | None) -> tuple[Mapping[str, str], ...]:
    """The help services for the country, else the jurisdiction's own, else the default list."""
    res = juris.safety_resources
    for key in (country, juris.code, "default"):
        if key is not None and key in res:
            return res[key]
    return ()


def decide(
    svc: Services,
    client: Client,
    *,
    action: str,
    jurisdiction: str,
    actor: PartyIn,
    target: PartyIn,
    locale: str | None = None,
    country: str | None = None,
    explain: bool = False,
) -> Decision:
    policy = svc.policy.current
    juris = _jurisdiction(policy, client, jurisdiction)
    now = svc.clock.now().timestamp()
    actor_key = _key(svc, client, actor, now, "actor")
    target_key = _key(svc, client, target, now, "target")
    outcome = policy.tables.decide(jurisdiction, action, actor_key, target_key)
    trace = None
    if explain:
        trace = evaluate(scope_of(juris, policy.levels), action, normalize(actor_key), normalize(target_key))[
            1
        ]
    svc.audit.emit(
        "decision.made", client=client.id, pol=policy.version, jur=jurisdiction,
        action=action, rule=outcome.rule, reason=outcome.reason,
        outcome="allow" if outcome.allowed else "deny",
    )  # fmt: skip
    return Decision(
        allowed=outcome.allowed,
        outcome=outcome,
        message=policy.text(outcome.message, locale),
        safety_resources=(
            safety_resources(juris, country) if SHOW_SAFETY_RESOURCES in outcome.obligations else ()
        ),
        policy_version=policy.version,
        trace=trace,
    )


def decide_batch(
    svc: Services,
    client: Client,
    *,
    action: str,
    jurisdiction: str,
    actor: PartyIn,
    targets: Sequence[Target],
    with_reasons: bool = False,
) -> BatchDecision:
    """Allowed target ids, in request order. The loop is one dict lookup per target."""
    policy = svc.policy.current
    _jurisdiction(policy, client, jurisdiction)
    now = svc.clock.now().timestamp()
    row = policy.tables.for_actor(jurisdiction, action, _key(svc, client, actor, now, "actor"))
    allowed: list[str] = []
    reasons: dict[str, Outcome] | None = {} if with_reasons else None
    for index, t in enumerate(targets):
        band, level, token = t.band, t.level, t.token
        if token is None:
            outcome = row.get((band, level))
        elif band is None and level is None:
            outcome = _token_outcome(svc, client, row, token, now)
        else:
            raise TokenWithBand("a target has both a token and a band or level", target=index)
        if outcome is None:
            outcome = row.get(normalize((band, level)))
            if outcome is None:
                raise UnknownParty("a target's band or level is not in the policy", target=index)
        if outcome.allowed:
            allowed.append(t.id)
        if reasons is not None:
            reasons[t.id] = outcome
    denied = len(targets) - len(allowed)
    svc.audit.emit(
        "decision.made", client=client.id, pol=policy.version, jur=jurisdiction,
        action=action, targets=len(targets), allowed=len(allowed), denied=denied,
    )  # fmt: skip
    return BatchDecision(allowed, denied, reasons, policy.version)


def _token_outcome(
    svc: Services, client: Client, row: Mapping[PartyKey, Outcome], token: str, now: float
) -> Outcome:
    """A target token that does not verify is denied (and audited), not an error for the batch."""
    try:
        verified = svc.token_cache.verify(svc.verifier, token, audience=client.id, now=now)
    except AgebandError as exc:
        svc.audit.emit("token.rejected", client=client.id, reason=str(exc)[:120], kind="target")
        return INVALID_TOKEN
    return row.get((verified.band, verified.level)) or INVALID_TOKEN
