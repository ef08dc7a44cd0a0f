"""What the composition root (service/app.py) builds and leaves in ``app.state.services``.

Flows never see this object: each endpoint hands its use case the bundle made for it
(``svc.checks``, ``svc.tokens``, ...), whose fields are exactly the roles that use case touches.
The rest is what the endpoints and middleware read themselves: the clients (authentication),
metrics, readiness (the store's health, providers, policy) and the key set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from providers.registry import Registry
from service.audit.events import Audit
from service.clients.registry import ClientRegistry
from service.core.clock import Clock, OffsetClock
from service.flows.bundle import BundleSigning
from service.flows.check_flow import CheckFlow
from service.flows.connections import Connections
from service.flows.content import ContentFlow
from service.flows.content_review import ContentReview
from service.flows.decision_flow import DecisionFlow
from service.flows.guardians import Guardians
from service.flows.pages import PageFlow
from service.flows.recheck_requests import RecheckRequests
from service.flows.tokens import SubjectRemoval, TokenFlow
from service.flows.wallet import WalletFlow
from service.flows.worker import WorkerFlow
from service.observability.metrics import Metrics
from service.policy.holder import PolicyHolder
from service.store.memory import MemoryStore
from service.store.redis import RedisStore
from service.tokens.keys import KeyRing


@dataclass(frozen=True, slots=True)
class Services:
    # The use cases, one bundle each.
    checks: CheckFlow  # checks, their redirects and wallet requests
    tokens: TokenFlow  # refresh and introspection
    removal: SubjectRemoval  # revocation and erasure
    wallet: WalletFlow  # the OpenID4VP request and response side of a check
    pages: PageFlow  # the hosted check page: its links and sessions
    decisions: DecisionFlow
    bundles: BundleSigning
    worker: WorkerFlow  # ``ageband worker``
    requests: RecheckRequests  # re-checks apps demand of their subjects
    guardians: Guardians  # guardian codes and confirmations
    connections: Connections  # trusted connections between two users
    content: ContentFlow  # adult content items, consents and publishability
    content_review: ContentReview  # frames through the local estimator: a safety net for humans
    # What the endpoints, middleware and the CLI read themselves.
    store: MemoryStore | RedisStore  # every role; its health for /readyz, closed at shutdown
    policy: PolicyHolder
    providers: Registry
    clients: ClientRegistry
    keyring: KeyRing
    audit: Audit
    clock: Clock
    pepper: bytes  # keyed hashes of the device and IP an app relays
    metrics: Metrics
    dev_clock: OffsetClock | None = None
    # AGEBAND_HTTP__PUBLIC_URL: the base of the absolute URLs published in metadata documents.
    public_url: str | None = None
    # The key manifest the key ring is reloaded from (None: keys fixed at start-up).
    keys_file: Path | None = None
