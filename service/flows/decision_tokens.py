"""Parties given as age-band tokens: each verified once (then cached), and their subjects'
revocation markers and pending re-checks read in one round trip per request."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from service.clients.registry import Client
from service.core.errors import AgebandError
from service.flows.decision_flow import DecisionFlow, PartyIn, Target
from service.flows.errors import InvalidPartyToken
from service.flows.recheck_requests import as_pending, pending_of
from service.flows.token_cache import VerifiedParty
from service.policy.compiled import Policy
from service.policy.interactions import Outcome, PartyKey
from service.policy.tables import ActorTable, DecisionTables

UNKNOWN: PartyKey = (None, None, None)


def verified_party(svc: DecisionFlow, client: Client, token: str, now: float, which: str) -> VerifiedParty:
    try:
        return svc.token_cache.verify(svc.verifier, token, audience=client.id, now=now)
    except AgebandError as exc:
        svc.audit.emit("token.rejected", client=client.id, reason=str(exc)[:120], kind=which)
        raise InvalidPartyToken(f"the {which}'s token is not valid", party=which) from None


async def _revoked(svc: DecisionFlow, parties: Sequence[VerifiedParty]) -> set[VerifiedParty]:
    """The parties whose subject was revoked (or erased) at or after their token was issued."""
    sids = list({p.sub for p in parties})
    marks = dict(zip(sids, await svc.revocations.revoked_at_many(sids), strict=True))
    out: set[VerifiedParty] = set()
    for p in parties:
        mark = marks[p.sub]
        if mark is not None and p.iat <= mark:
            out.add(p)
    return out


def _reject_revoked(svc: DecisionFlow, client: Client, party: VerifiedParty, which: str) -> None:
    svc.audit.emit("token.rejected", client=client.id, sid=party.sub, reason="revoked_or_erased", kind=which)


async def token_keys(
    svc: DecisionFlow, client: Client, policy: Policy, jurisdiction: str, actor: PartyIn, target: PartyIn
) -> tuple[PartyKey, PartyKey, bool, dict[str, str]]:
    """Both parties' keys, tokens verified (cached) and their subjects checked for revocation.

    A token whose band or level this policy does not know (issued under an earlier one) is looked
    up as unknown, and the third value says so: the decision is then ``unknown_band``.
    """
    now = svc.clock.now().timestamp()
    keys: list[PartyKey] = []
    tokens: list[tuple[str, VerifiedParty]] = []
    stale = False
    for which, party in (("actor", actor), ("target", target)):
        if party.token is None:
            keys.append(party.key)
            continue
        v = verified_party(svc, client, party.token, now, which)
        tokens.append((which, v))
        if policy.tables.knows(v.key):
            keys.append(v.key)
        else:
            keys.append(UNKNOWN)
            stale = True
    parties = [v for _, v in tokens]
    revoked, pending = await asyncio.gather(
        _revoked(svc, parties), pending_of(svc.rechecks, [v.sub for v in parties], client.id)
    )
    for which, v in tokens:
        if v in revoked:
            _reject_revoked(svc, client, v, which)
            raise InvalidPartyToken(f"the {which}'s token is not valid", party=which)
    if pending:
        # Tokens issued before a re-check was demanded count as the pending_recheck rules say.
        for which, v in tokens:
            place = 0 if which == "actor" else 1
            if v.sub in pending and keys[place] != UNKNOWN:
                keys[place] = as_pending(policy, jurisdiction, keys[place])
    return keys[0], keys[1], stale, {which: v.sub for which, v in tokens}


async def pending_actor(
    svc: DecisionFlow,
    client: Client,
    policy: Policy,
    jurisdiction: str,
    action: str,
    row: ActorTable,
    actor_party: VerifiedParty | None,
) -> ActorTable:
    """An actor token whose subject has a re-check pending decides by the pending_recheck view."""
    tables = policy.tables
    if (
        actor_party is not None
        and tables.knows(actor_party.key)
        and await pending_of(svc.rechecks, [actor_party.sub], client.id)
    ):
        return tables.for_actor(jurisdiction, action, as_pending(policy, jurisdiction, actor_party.key))
    return row


def actor_row(
    svc: DecisionFlow,
    client: Client,
    tables: DecisionTables,
    jurisdiction: str,
    action: str,
    actor: PartyIn,
    now: float,
) -> tuple[ActorTable, VerifiedParty | None]:
    """The actor's row of the table, and its verified token if it came as one.

    An actor token of a band this policy lacks gets a row of ``unknown_band`` denials.
    """
    if actor.token is None:
        return tables.for_actor(jurisdiction, action, actor.key), None
    party = verified_party(svc, client, actor.token, now, "actor")
    if tables.knows(party.key):
        return tables.for_actor(jurisdiction, action, party.key), party
    tables.for_actor(jurisdiction, action, UNKNOWN)  # still refuses an unknown action or jurisdiction
    return dict.fromkeys(tables.party_keys, tables.unknown_band), party


async def live_only(
    svc: DecisionFlow,
    client: Client,
    actor_party: VerifiedParty | None,
    allowed: list[str],
    held: list[tuple[Target, VerifiedParty, int]],
    reasons: dict[str, Outcome] | None,
    invalid: Outcome,
) -> tuple[list[str], set[VerifiedParty]]:
    """Reads the revocation markers of every token's subject in one round trip: a revoked actor
    is refused; a revoked target is denied as ``invalid_token``."""
    parties = [p for _, p, _ in held] + ([actor_party] if actor_party is not None else [])
    revoked = await _revoked(svc, parties)
    if actor_party is not None and actor_party in revoked:
        _reject_revoked(svc, client, actor_party, "actor")
        raise InvalidPartyToken("the actor's token is not valid", party="actor")
    if revoked:
        return _without_revoked(svc, client, allowed, held, revoked, reasons, invalid), revoked
    return allowed, revoked


async def pending_targets(
    svc: DecisionFlow,
    client: Client,
    policy: Policy,
    jurisdiction: str,
    row: ActorTable,
    targets: Sequence[Target],
    allowed: list[str],
    held: list[tuple[Target, VerifiedParty, int]],
    reasons: dict[str, Outcome] | None,
) -> list[str]:
    """Targets whose subject has a re-check pending are decided again as pending_recheck says
    (one round trip for every token target); the rest keep their outcome."""
    pending = await pending_of(svc.rechecks, [p.sub for _, p, _ in held], client.id)
    if not pending:
        return allowed
    live = set(allowed)
    for t, party, _ in held:  # revoked targets are not among them: they stay denied
        if party.sub not in pending:
            continue
        outcome = row.get(as_pending(policy, jurisdiction, party.key))
        if outcome is None:
            continue  # a band this policy lacks: already denied as unknown_band
        if outcome.allowed:
            live.add(t.id)
        else:
            live.discard(t.id)
        if reasons is not None:
            reasons[t.id] = outcome
    return [t.id for t in targets if t.id in live]


def target_party(svc: DecisionFlow, client: Client, token: str, now: float) -> VerifiedParty | None:
    """A target token that does not verify is denied (and audited), not an error for the batch."""
    try:
        return svc.token_cache.verify(svc.verifier, token, audience=client.id, now=now)
    except AgebandError as exc:
        svc.audit.emit("token.rejected", client=client.id, reason=str(exc)[:120], kind="target")
        return None


def _without_revoked(
    svc: DecisionFlow,
    client: Client,
    allowed: list[str],
    held: list[tuple[Target, VerifiedParty, int]],
    revoked: set[VerifiedParty],
    reasons: dict[str, Outcome] | None,
    invalid: Outcome,
) -> list[str]:
    """Deny every target whose token's subject is revoked; one audit event per subject."""
    places: set[int] = set()
    for t, party, place in held:
        if party in revoked:
            if place >= 0:
                places.add(place)
            if reasons is not None:
                reasons[t.id] = invalid
    for party in {p.sub: p for p in revoked}.values():
        _reject_revoked(svc, client, party, "target")
    return [tid for i, tid in enumerate(allowed) if i not in places]
