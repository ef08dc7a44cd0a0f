"""Trusted connections: two users of one app who know each other confirm it, and decisions between
them may then set aside the rules the policy marks ``relaxable``.

1. One user's app opens a connection with that user's age-band token (opening is their
   confirmation) and gets a pair nonce to pass to the other user (``open_connection``).
2. The other user's app confirms with that user's token and the nonce (``confirm_connection``).
3. A decision between them honours ``relationship: {type: trusted, nonce}`` only when both
   parties are given as tokens, the nonce names a confirmed connection of exactly these two sids,
   both bands are at or above the jurisdiction's ``trusted.min_band``, and (unless the policy
   allows it, never in the bundled packs) they are not an adult and a minor.

What is stored: the connection under a keyed hash of the nonce, holding keyed hashes of the
opener's sid and of the pair, never the sids; an index per sid lets erasure of either side
remove it. Opening and confirming are audited and sent by webhook, each naming the user who
acted (the app can tell its user their invitation is waiting, then accepted).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.audit.events import Audit
from service.clients.registry import Client
from service.core.clock import Clock
from service.core.errors import AgebandError
from service.core.ids import keyed_hash
from service.flows import events
from service.flows.errors import ConnectionInvalid, InvalidPartyToken, TrustedNotAvailable
from service.policy.compiled import Jurisdiction, Policy
from service.policy.holder import PolicyHolder
from service.store.reviews import Connection
from service.store.roles import ConnectionStore, RevocationStore
from service.tokens.claims import TokenClaims
from service.tokens.verifier import TokenVerifier

TRUSTED = "trusted"


@dataclass(frozen=True, slots=True)
class Connections:
    """What opening and confirming a connection touch: the tokens (verified, not revoked), the
    connection keys (keyed by the pepper), and the app's webhook."""

    policy: PolicyHolder
    clock: Clock
    pepper: bytes
    audit: Audit
    verifier: TokenVerifier
    revocations: RevocationStore
    connections: ConnectionStore
    publishing: events.Publishing


@dataclass(frozen=True, slots=True)
class Opened:
    nonce: str
    expires_at: datetime


def nonce_ref(pepper: bytes, client_id: str, nonce: str) -> str:
    return "tcn_" + keyed_hash(pepper, f"trusted-nonce\x00{client_id}\x00{nonce}")


def _member(pepper: bytes, sid: str) -> str:
    return keyed_hash(pepper, f"trusted-member\x00{sid}")


def _rules(policy: Policy, jurisdiction: str) -> Jurisdiction:
    juris = policy.jurisdiction(jurisdiction)
    if juris.trusted is None:
        raise TrustedNotAvailable("this jurisdiction has no trusted connections")
    return juris


async def _holder(svc: Connections, client: Client, token: str) -> TokenClaims:
    """The token's claims: it verifies for this app and its subject was not revoked since."""
    try:
        claims = svc.verifier.verify(token, audience=client.id)
    except AgebandError:
        raise InvalidPartyToken("the token is not valid", party="token") from None
    revoked = await svc.revocations.revoked_at(claims.sub)
    if revoked is not None and claims.iat <= revoked:
        raise InvalidPartyToken("the token is not valid", party="token")
    return claims


async def open_connection(svc: Connections, client: Client, jurisdiction: str, token: str) -> Opened:
    juris = _rules(svc.policy.current, jurisdiction)
    assert juris.trusted is not None  # noqa: S101 - _rules refuses a jurisdiction without it
    claims = await _holder(svc, client, token)
    nonce = secrets.token_urlsafe(24)
    now = svc.clock.now()
    ttl = max(1, int(juris.trusted.confirm_within.total_seconds()))
    connection = Connection(client.id, _member(svc.pepper, claims.sub), None, int(now.timestamp()), None)
    await svc.connections.put_connection(
        nonce_ref(svc.pepper, client.id, nonce), connection, [claims.sub], ttl
    )
    svc.audit.emit("connection.opened", client=client.id, sid=claims.sub, pol=svc.policy.current.version)
    await events.publish(svc.publishing, client.id, events.CONNECTION_OPENED, {"sid": claims.sub})
    return Opened(nonce, now + timedelta(seconds=ttl))


async def confirm_connection(
    svc: Connections, client: Client, jurisdiction: str, token: str, nonce: str
) -> None:
    juris = _rules(svc.policy.current, jurisdiction)
    assert juris.trusted is not None  # noqa: S101 - _rules refuses a jurisdiction without it
    claims = await _holder(svc, client, token)
    ref = nonce_ref(svc.pepper, client.id, nonce)
    opened = await svc.connections.get_connection(ref)
    if opened is None or opened.client_id != client.id or opened.pair is not None:
        raise ConnectionInvalid("the pair nonce is not valid: wrong, expired or already confirmed")
    if opened.first == _member(svc.pepper, claims.sub):
        raise ConnectionInvalid("the other user must confirm the connection, not the one who opened it")
    # The opener's sid is not stored, only its keyed hash: the pair is a hash of both members'
    # hashes, which a decision recomputes from the two parties' tokens.
    now = int(svc.clock.now().timestamp())
    pair = _pair(svc.pepper, opened.first, _member(svc.pepper, claims.sub))
    ttl = max(1, int(juris.trusted.ttl.total_seconds()))
    confirmed = Connection(client.id, opened.first, pair, opened.opened_at, now)
    await svc.connections.put_connection(ref, confirmed, [claims.sub], ttl)
    svc.audit.emit("connection.confirmed", client=client.id, sid=claims.sub, pol=svc.policy.current.version)
    await events.publish(svc.publishing, client.id, events.CONNECTION_CONFIRMED, {"sid": claims.sub})


def _pair(pepper: bytes, a: str, b: str) -> str:
    return keyed_hash(pepper, "trusted-pair\x00" + "\x00".join(sorted((a, b))))


def proven_pair(pepper: bytes, actor_sid: str, target_sid: str) -> str:
    """The pair hash a confirmed connection of these two sids holds."""
    return _pair(pepper, _member(pepper, actor_sid), _member(pepper, target_sid))


async def is_trusted(
    connections: ConnectionStore, pepper: bytes, client_id: str, nonce: str, actor_sid: str, target_sid: str
) -> bool:
    """Whether the nonce names a connection both of these two users confirmed."""
    if actor_sid == target_sid:
        return False
    found = await connections.get_connection(nonce_ref(pepper, client_id, nonce))
    return (
        found is not None
        and found.client_id == client_id
        and found.pair is not None
        and secrets.compare_digest(found.pair, proven_pair(pepper, actor_sid, target_sid))
    )
