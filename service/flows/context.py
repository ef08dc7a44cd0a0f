"""Everything the use cases need, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from providers.registry import Registry
from service.audit.events import Audit
from service.clients.registry import ClientRegistry
from service.core.clock import Clock, OffsetClock
from service.flows.token_cache import TokenCache
from service.observability.metrics import Metrics
from service.policy.holder import PolicyHolder
from service.store.base import Store
from service.tokens.keys import KeyRing
from service.tokens.signer import TokenSigner
from service.tokens.verifier import TokenVerifier


@dataclass(frozen=True, slots=True)
class Services:
    policy: PolicyHolder
    providers: Registry
    store: Store
    keyring: KeyRing
    signer: TokenSigner
    verifier: TokenVerifier
    clients: ClientRegistry
    audit: Audit
    clock: Clock
    pepper: bytes
    # Revocation markers outlive every token they void: lifetime + leeway + verifier cache.
    revocation_ttl: int
    dev_clock: OffsetClock | None = None
    # Verified tokens that decisions were asked about, until each one's exp.
    token_cache: TokenCache = field(default_factory=TokenCache)
    metrics: Metrics = field(default_factory=Metrics)
    # The key manifest the key ring is reloaded from (None: keys fixed at start-up).
    keys_file: Path | None = None
    # Where wallets reach this service (the OpenID4VP request_uri and response_uri); None: not set.
    public_url: str | None = None
