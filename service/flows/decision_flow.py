"""What a decision touches (``DecisionFlow``), the parties and answers decisions pass, and the
jurisdiction check every decision starts with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from service.audit.events import Audit
from service.clients.registry import Client
from service.core.clock import Clock
from service.flows.deterrence import Deterring, Shown
from service.flows.errors import JurisdictionNotAllowed
from service.flows.token_cache import TokenCache
from service.observability.metrics import Metrics
from service.policy.compiled import Jurisdiction, Policy
from service.policy.holder import PolicyHolder
from service.policy.interactions import Outcome, PartyKey, Step
from service.store.roles import ConnectionStore, RecheckStore, RevocationStore
from service.tokens.verifier import TokenVerifier


@dataclass(frozen=True, slots=True)
class DecisionFlow:
    """What a decision touches: the compiled tables, the verified-token cache and, for a party
    given as a token, its subject's revocation marker."""

    policy: PolicyHolder
    clock: Clock
    audit: Audit
    metrics: Metrics
    verifier: TokenVerifier
    # Verified tokens that decisions were asked about, until each one's exp.
    token_cache: TokenCache
    revocations: RevocationStore
    # Re-checks apps demanded: a token's subject with one pending is decided by pending_recheck.
    rechecks: RecheckStore
    # Trusted connections (keyed by the pepper): the proof ``relationship: trusted`` needs.
    connections: ConnectionStore
    pepper: bytes
    # Deterrence: counting a token actor's refused attempts towards minors (None: not counted).
    deterring: Deterring | None = None


class Target(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def band(self) -> str | None: ...
    @property
    def level(self) -> str | None: ...
    @property
    def upper_level(self) -> str | None: ...
    @property
    def token(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class PartyIn:
    band: str | None = None
    level: str | None = None
    token: str | None = None
    upper_level: str | None = None

    @property
    def key(self) -> PartyKey:
        return (self.band, self.level, self.upper_level)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    outcome: Outcome
    message: str
    safety_resources: tuple[Mapping[str, str], ...]
    policy_version: str
    trace: list[Step] | None
    deterrence: Shown | None = None
    relationship: str | None = None  # "trusted" when a proven trusted connection was honoured


@dataclass(frozen=True, slots=True)
class Relationship:
    """What the app says relates the two parties: ``trusted`` with the connection's pair nonce."""

    type: str
    nonce: str


@dataclass(frozen=True, slots=True)
class BatchDecision:
    allowed_ids: list[str]
    denied: int
    reasons: dict[str, Outcome] | None
    policy_version: str


def jurisdiction_for(policy: Policy, client: Client, code: str) -> Jurisdiction:
    if not client.allows(code):
        raise JurisdictionNotAllowed("the client may not ask for decisions in this jurisdiction")
    return policy.jurisdiction(code)
