"""Decisions: may this actor do this action to this target, in this jurisdiction?

Answers come from the tables the policy compiled at load time; explanations re-run the rules'
evaluator, which built those tables. Parties are given as a band (and level) or as an age-band
token of the caller's, verified once and cached until it expires. A token's subject may have been
revoked or erased since it was issued: its sid's revocation marker is read from the store on every
decision (one store call per request for all its distinct sids: an MGET per thousand), as
introspection does, so a revoked subject's cached token stops deciding at once, on every replica.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from service.clients.registry import Client
from service.core.errors import AgebandError
from service.flows.connections import TRUSTED, is_trusted
from service.flows.decision_flow import Decision, DecisionFlow, PartyIn, Relationship, jurisdiction_for
from service.flows.decision_tokens import token_keys, verified_party
from service.flows.deterrence import attempted, shown
from service.policy.compiled import Jurisdiction, Policy
from service.policy.interactions import Outcome, PartyKey, evaluate
from service.policy.reviews import trusted_refusal
from service.policy.rule_loader import scope_of

SHOW_SAFETY_RESOURCES = "show_safety_resources"


async def _trusted_pair(
    svc: DecisionFlow,
    client: Client,
    policy: Policy,
    juris: Jurisdiction,
    relationship: Relationship,
    subs: dict[str, str],
    actor_key: PartyKey,
    target_key: PartyKey,
) -> bool:
    """Honour ``relationship: trusted`` only with its proof: both parties as tokens of this app,
    a connection both confirmed, both bands at or above ``trusted.min_band``, and never across
    the adult-minor line unless the policy allows it."""
    actor_sub, target_sub = subs.get("actor"), subs.get("target")
    if relationship.type != TRUSTED or actor_sub is None or target_sub is None:
        return False
    if trusted_refusal(policy, juris, actor_key[0], target_key[0]) is not None:
        return False
    return await is_trusted(svc.connections, svc.pepper, client.id, relationship.nonce, actor_sub, target_sub)


def safety_resources(juris: Jurisdiction, country: str | None) -> tuple[Mapping[str, str], ...]:
    """The help services for the country, else the jurisdiction's own, else the default list."""
    res = juris.safety_resources
    for key in (country, juris.code, "default"):
        if key is not None and key in res:
            return res[key]
    return ()


async def decide(
    svc: DecisionFlow,
    client: Client,
    *,
    action: str,
    jurisdiction: str,
    actor: PartyIn,
    target: PartyIn,
    locale: str | None = None,
    country: str | None = None,
    explain: bool = False,
    relationship: Relationship | None = None,
) -> Decision:
    policy = svc.policy.current
    juris = jurisdiction_for(policy, client, jurisdiction)
    actor_key: PartyKey = actor.key
    target_key: PartyKey = target.key
    stale = False
    subs: dict[str, str] = {}
    if actor.token is not None or target.token is not None:
        actor_key, target_key, stale, subs = await token_keys(
            svc, client, policy, jurisdiction, actor, target
        )
    outcome = policy.tables.decide(jurisdiction, action, actor_key, target_key)
    if stale:
        outcome = policy.tables.unknown_band
    trusted = (
        relationship is not None
        and not stale
        and await _trusted_pair(svc, client, policy, juris, relationship, subs, actor_key, target_key)
    )
    scope = None
    if trusted or explain:
        scope = scope_of(juris, policy.levels, policy.bands)
    if trusted and scope is not None:
        # A trusted connection both users confirmed sets the policy's relaxable rules aside.
        scope = replace(scope, rules=tuple(r for r in scope.rules if not r.relaxable))
        tables = policy.tables
        outcome = evaluate(scope, action, tables.normalize(actor_key), tables.normalize(target_key))[0]
    trace = None
    if explain and scope is not None:
        tables = policy.tables
        trace = evaluate(scope, action, tables.normalize(actor_key), tables.normalize(target_key))[1]
    effect = "allow" if outcome.allowed else "deny"
    deterrence = shown(policy, juris, outcome, locale, country)
    if deterrence is not None and actor.token is not None and svc.deterring is not None:
        sid = verified_party(svc, client, actor.token, svc.clock.now().timestamp(), "actor").sub  # cached
        await attempted(svc.deterring, juris, client.id, sid, policy.version)
    svc.metrics.decision(action, effect)  # the action is the policy's: the lookup above refused others
    svc.audit.emit(
        "decision.made", client=client.id, pol=policy.version, jur=jurisdiction,
        action=action, rule=outcome.rule, reason=outcome.reason, outcome=effect,
        relationship=TRUSTED if trusted else None,
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
        relationship=TRUSTED if trusted else None,
        deterrence=deterrence,
    )


@dataclass(frozen=True, slots=True)
class Question:
    """One decision of a set (AuthZEN evaluations): what ``decide`` takes, one by one."""

    action: str
    jurisdiction: str
    actor: PartyIn
    target: PartyIn
    country: str | None = None


async def decide_many(
    svc: DecisionFlow, client: Client, questions: Sequence[Question], *, locale: str | None = None
) -> list[Decision | AgebandError]:
    """Each question's decision, or the error ``decide`` would raise for it (4xx only: a 5xx, such
    as the store being down, is raised for the whole set). Questions with bands are table lookups
    (one rendering per distinct outcome); a question with a token goes through ``decide``, which
    verifies it and reads its subject's revocation. One audit event for the set."""
    policy = svc.policy.current
    tables = policy.tables
    rendered: dict[tuple[int, str | None, str | None], Decision] = {}
    out: list[Decision | AgebandError] = []
    allowed = 0
    for q in questions:
        try:
            if q.actor.token is not None or q.target.token is not None:
                d = await decide(
                    svc, client, action=q.action, jurisdiction=q.jurisdiction, actor=q.actor, target=q.target,
                    locale=locale, country=q.country,
                )  # fmt: skip
            else:
                juris = jurisdiction_for(policy, client, q.jurisdiction)
                outcome = tables.decide(q.jurisdiction, q.action, q.actor.key, q.target.key)
                key = (id(outcome), q.jurisdiction, q.country)
                d = rendered.get(key) or rendered.setdefault(
                    key, _decision(policy, juris, outcome, locale, q.country)
                )
                svc.metrics.decision(q.action, "allow" if outcome.allowed else "deny")
        except AgebandError as exc:
            if exc.status >= 500:
                raise
            out.append(exc)
            continue
        allowed += d.allowed
        out.append(d)
    svc.audit.emit(
        "decision.made", client=client.id, pol=policy.version, targets=len(questions), allowed=allowed,
        denied=len(questions) - allowed,
    )  # fmt: skip
    return out


def _decision(
    policy: Policy, juris: Jurisdiction, outcome: Outcome, locale: str | None, country: str | None
) -> Decision:
    return Decision(
        allowed=outcome.allowed,
        outcome=outcome,
        message=policy.text(outcome.message, locale),
        safety_resources=(
            safety_resources(juris, country) if SHOW_SAFETY_RESOURCES in outcome.obligations else ()
        ),
        policy_version=policy.version,
        trace=None,
        deterrence=shown(policy, juris, outcome, locale, country),
    )
