"""The composition root: ``create_app(settings)`` wires everything in the lifespan."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TextIO

from fastapi import FastAPI

from providers.base import CircuitReporting
from providers.registry import InstanceConfig, Registry, build
from service.api import openapi, problems
from service.api.access_log import RequestObserver
from service.api.admin.endpoints import router as admin_router
from service.api.authzen.endpoints import EVALUATION, EVALUATIONS, SEARCH_RESOURCE
from service.api.authzen.endpoints import router as authzen_router
from service.api.authzen.endpoints import wellknown_router as authzen_wellknown_router
from service.api.checks.endpoints import router as checks_router
from service.api.connections.endpoints import router as connections_router
from service.api.content.endpoints import router as content_router
from service.api.credentials.endpoints import router as credentials_router
from service.api.decisions.endpoints import router as decisions_router
from service.api.direct_routes import DirectRoutes, direct_routes
from service.api.guardians.endpoints import router as guardians_router
from service.api.limits import EVIDENCE_PATHS, PAGE_PHOTO_PATH, REVIEW_PATH, WALLET_PATHS, BodyLimit
from service.api.metrics import router as metrics_router
from service.api.oidc.endpoints import router as oidc_router
from service.api.policy.endpoints import admin_router as policy_admin_router
from service.api.policy.endpoints import router as policy_router
from service.api.privacy.endpoints import router as privacy_router
from service.api.rechecks.endpoints import router as rechecks_router
from service.api.reviews.endpoints import router as reviews_router
from service.api.services import Services
from service.api.tokens.endpoints import router as tokens_router
from service.api.tracing import TraceRequests
from service.api.wallet.endpoints import router as wallet_router
from service.api.wallet.endpoints import wallet_api_router
from service.api.wellknown import router as wellknown_router
from service.audit.chain import AuditChain, AuditStream, new_chain_id
from service.audit.checkpoint_keys import CheckpointSigner, load_public_keys, public_jwk
from service.audit.events import Audit
from service.audit.logging import configure_logging, get_logger
from service.audit.subjects import SubjectRefs
from service.clients.registry import ClientRegistry
from service.core.clock import Clock, OffsetClock, SystemClock
from service.flows.abuse import AbuseControl
from service.flows.appeals import Appeals
from service.flows.bundle import BundleSigning
from service.flows.check_flow import CheckFlow
from service.flows.connections import Connections
from service.flows.content import ContentFlow
from service.flows.content_cascade import ContentCascade
from service.flows.content_review import ContentReview
from service.flows.decision_flow import DecisionFlow
from service.flows.deterrence import Deterring
from service.flows.events import Publishing
from service.flows.guardians import Guardians
from service.flows.issuing import Issuing
from service.flows.key_reload import KeyReloader
from service.flows.lifecycle import Lifecycle
from service.flows.pages import PageFlow
from service.flows.policy_reload import PolicyReloader
from service.flows.recheck_requests import RecheckRequests
from service.flows.records import RecordWriting
from service.flows.subjects import SubjectLookup
from service.flows.token_cache import TokenCache
from service.flows.tokens import SubjectRemoval, TokenFlow
from service.flows.wallet import WalletFlow
from service.flows.worker import WorkerFlow
from service.observability.metrics import Metrics
from service.observability.tracing import Tracing
from service.policy.holder import PolicyHolder
from service.settings import Settings
from service.store.memory import MemoryStore
from service.store.redis import RedisStore
from service.tokens.keys import KeyRing, KeyState, generate_key, load_key, load_key_manifest
from service.tokens.signer import TokenSigner
from service.tokens.verifier import TokenVerifier
from service.web.endpoints import router as page_router

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

DEMO_CLIENT_KEY = "ageband-demo-key"  # development only; production refuses it
DEMO_ADMIN_KEY = "ageband-demo-admin-key"
VERSION = "0.1.0"


def watch_circuits(registry: Registry, metrics: Metrics) -> None:
    """Export the circuit-breaker state of every provider that has one, read at each scrape."""
    for name in registry.names:
        provider = registry.get(name)
        if isinstance(provider, CircuitReporting):
            metrics.circuit(name, lambda p=provider: p.circuit_state)


def build_store(settings: Settings, clock: Clock, metrics: Metrics) -> MemoryStore | RedisStore:
    if settings.store.backend == "memory":
        return MemoryStore(clock)
    return RedisStore.from_url(
        settings.store.redis_url.get_secret_value(),
        settings.store.prefix,
        on_error=lambda error: metrics.store_error("redis", error),
        min_replicas_ack=settings.store.min_replicas_ack,
        replica_ack_timeout_ms=settings.store.replica_ack_timeout_ms,
        socket_timeout=settings.store.socket_timeout,
    )


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    log = get_logger("ageband")
    dev_clock = OffsetClock() if settings.dev_clock else None
    clock = clock or dev_clock or SystemClock()
    policy = PolicyHolder.load(settings.policy_path)
    log.info("policy.loaded", audit=True, pol=policy.current.version, files=list(policy.current.files))
    instances = [
        InstanceConfig(name, (cfg.type if cfg else None) or name, cfg.config if cfg else {})
        for name in settings.providers.enabled
        for cfg in [settings.providers.instances.get(name)]
    ]
    registry = build(instances)
    if settings.tokens.keys_file is not None:
        keyring = load_key_manifest(settings.tokens.keys_file)
    elif settings.tokens.keys:
        keyring = KeyRing([load_key(k.path, KeyState(k.state)) for k in settings.tokens.keys])
    else:
        keyring = KeyRing([generate_key(settings.tokens.dev_key_alg, state=KeyState.active)])
        log.warning(
            "DEVELOPMENT SIGNING KEY",
            warning="generated in memory; tokens die with the process; never use in production",
            kid=keyring.signing_key.kid,
        )
    if settings.clients_file is not None:
        clients = ClientRegistry.from_file(settings.clients_file)
    else:
        clients = ClientRegistry.demo(DEMO_CLIENT_KEY, DEMO_ADMIN_KEY)
        log.warning(
            "DEMO CLIENT ENABLED",
            warning="client 'demo' with a published API key; set AGEBAND_CLIENTS_FILE",
        )
    if settings.pepper is not None:
        pepper = settings.pepper.get_secret_value().encode()
    else:
        pepper = secrets.token_bytes(32)
        log.warning("RANDOM PEPPER", warning="sids change on restart; set AGEBAND_PEPPER")
    metrics = Metrics(VERSION)
    metrics.watch_policy(lambda: policy.current.version)
    metrics.watch_signing_key(lambda: keyring.signing_key.kid)
    watch_circuits(registry, metrics)
    store = build_store(settings, clock, metrics)
    tokens = settings.tokens
    signer = TokenSigner(keyring, tokens.issuer, lifetime=tokens.lifetime, clock=clock)
    verifier = TokenVerifier(keyring, tokens.issuer, clock, tokens.leeway_seconds)
    audit = Audit()
    # Revocation markers outlive every token they void: lifetime + leeway + verifier cache.
    revocation_ttl = int(tokens.lifetime.total_seconds()) + tokens.leeway_seconds + 60
    # Each use case gets the store roles and collaborators it touches, and nothing else.
    publishing = Publishing(clients, clock, store.events, audit)
    writing = RecordWriting(policy, store.records)
    lifecycle = Lifecycle(policy, clock, audit, store.once, store.timers, writing, publishing)
    issuing = Issuing(policy, signer, keyring, audit, metrics)
    subjects = SubjectLookup(pepper, store.records, store.checks)
    cascade = ContentCascade(policy, clock, pepper, audit, store.content, publishing)
    abuse = AbuseControl(
        policy, clock, pepper, audit, store.counters, store.sanctions, store.once, store.revocations,
        revocation_ttl, writing, publishing, cascade,
    )  # fmt: skip
    requests = RecheckRequests(
        policy, clock, audit, subjects, store.rechecks, writing, publishing, abuse, store.once,
        store.timers,
    )  # fmt: skip
    checks = CheckFlow(
        policy, registry, clock, pepper, audit, metrics, store.checks, store.records, store.once,
        subjects, abuse, lifecycle, writing, issuing, requests,
        Appeals(policy, clock, audit, store.appeals, publishing), cascade, store.guardians,
    )  # fmt: skip
    tokens_flow = TokenFlow(
        policy, clock, audit, metrics, verifier, store.revocations, subjects, abuse, lifecycle, issuing,
        checks, requests, store.subject_states,
    )  # fmt: skip
    # Audit events name a subject by a hash under its own key, which erasure deletes.
    subject_refs = SubjectRefs(pepper, store.subject_keys, settings.audit.retention_days * 86_400)
    removal = SubjectRemoval(
        clock, subject_refs, audit, revocation_ttl, subjects, store.records, store.revocations, store.checks,
        store.timers, store.sanctions, store.counters, store.events, publishing, store.rechecks,
        store.appeals, store.guardians, store.connections, store.pages, cascade,
    )  # fmt: skip
    public_url = settings.http.public_url
    content = ContentFlow(
        clock, pepper, audit, verifier, store.records, store.revocations, store.once, store.content, cascade
    )
    wallet = WalletFlow(policy, registry, clock, pepper, store.checks, clients, public_url, checks)
    guardians = Guardians(policy, clock, pepper, audit, subjects, store.guardians, writing, publishing)
    return Services(
        checks=checks,
        tokens=tokens_flow,
        removal=removal,
        wallet=wallet,
        pages=PageFlow(checks, store.pages, clients, clock, public_url, wallet, guardians),
        decisions=DecisionFlow(
            policy,
            clock,
            audit,
            metrics,
            verifier,
            TokenCache(),
            store.revocations,
            store.rechecks,
            store.connections,
            pepper,
            Deterring(audit, store.counters, publishing),
        ),
        requests=requests,
        guardians=guardians,
        connections=Connections(
            policy, clock, pepper, audit, verifier, store.revocations, store.connections, publishing
        ),
        bundles=BundleSigning(
            policy,
            keyring,
            signer,
            clock,
            lifetime=int(settings.bundle.lifetime.total_seconds()),
            refresh=int(settings.bundle.refresh.total_seconds()),
        ),
        worker=WorkerFlow(
            clients,
            policy,
            clock,
            audit,
            store.events,
            store.timers,
            store.records,
            lifecycle,
            requests,
        ),
        content=content,
        content_review=ContentReview(policy, clock, audit, registry, content),
        store=store,
        policy=policy,
        providers=registry,
        clients=clients,
        keyring=keyring,
        audit=audit,
        clock=clock,
        pepper=pepper,
        metrics=metrics,
        dev_clock=dev_clock if clock is dev_clock else None,
        public_url=settings.http.public_url,
        keys_file=settings.tokens.keys_file,
    )


def configure_audit(settings: Settings, sink: TextIO | None = None) -> AuditStream:
    """Logs through the PII guard and audit events into the hash chain, for the service and the
    worker alike; close the stream at shutdown (its checkpoint)."""
    audit = settings.audit
    # Checkpoints are signed; a reviewer verifies them with the published key (privacy report
    # --checkpoint-key), so a rewritten log cannot come with rewritten checkpoints.
    if audit.checkpoint_key is not None:
        signer = CheckpointSigner.from_file(audit.checkpoint_key)
    else:
        signer = CheckpointSigner.generate()
    chain = AuditChain(
        new_chain_id(audit.chain_id),
        every=audit.checkpoint_every,
        seconds=audit.checkpoint_seconds,
        signer=signer,
    )
    stream = AuditStream(chain, file=audit.file, checkpoint_file=audit.checkpoint_file)
    configure_logging(fmt=settings.log_format, level=settings.log_level, sink=sink, audit=stream)
    return stream


def published_checkpoint_keys(settings: Settings, stream: AuditStream) -> dict[str, Any]:
    """The JWKS of /.well-known/audit-keys.json: the signing key and those it replaced, so the
    checkpoints an earlier key signed still verify (a key that cannot be read stops start-up)."""
    earlier = {
        kid: key
        for path in settings.audit.checkpoint_published_keys
        for kid, key in load_public_keys(path).items()
    }
    signer = stream.chain.signer
    if signer is None:
        return {"keys": [public_jwk(k) for k in earlier.values()]}
    return signer.jwks(earlier)


def warn_of_generated_keys(settings: Settings, stream: AuditStream) -> None:
    """At start-up (not when the app is only built, e.g. to write the OpenAPI document)."""
    if settings.audit.checkpoint_key is None and stream.chain.signer is not None:
        get_logger().warning(
            "GENERATED CHECKPOINT KEY",
            warning="the checkpoint key dies with the process; set AGEBAND_AUDIT__CHECKPOINT_KEY",
            kid=stream.chain.signer.kid,
        )


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    log_sink: TextIO | None = None,
    span_exporter: SpanExporter | None = None,
) -> FastAPI:
    stream = configure_audit(settings, log_sink)
    tracing = None
    if settings.tracing.enabled:  # off: OpenTelemetry is never imported
        t = settings.tracing
        tracing = Tracing(
            service_name=t.service_name, exporter=t.exporter, sample_ratio=t.sample_ratio,
            span_exporter=span_exporter,
        )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings, clock)
        app.state.services = services
        stream.subjects.use(services.removal.subject_refs)  # from here a sid is logged as sid_hash
        warn_of_generated_keys(settings, stream)
        services.metrics.tracing = tracing
        keys = KeyReloader(services.keyring, services.keys_file)
        keys.start(watch=settings.policy_watch)
        reloader = PolicyReloader(services.policy, also_on_sighup=[keys.reload])
        reloader.start(watch=settings.policy_watch, sighup=True)
        try:
            yield
        finally:
            await reloader.stop()
            await keys.stop()
            if tracing is not None:
                tracing.shutdown()
            stream.subjects.use(None)  # the store closes: later sids are dropped, never written
            await services.store.close()
            stream.close()  # the shutdown checkpoint
            await services.providers.aclose()  # vendor connection pools; last, as it may raise

    app = FastAPI(
        title="ageband",
        version=VERSION,
        summary="Age checks, short-lived signed age-band tokens, and re-checks. No identity kept.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        # ageband has its own spans (TraceRequests, when tracing is on) and Prometheus metrics:
        # FastAPI's native OpenTelemetry would duplicate them as soon as a global provider is
        # set, and its per-request "is a provider configured?" probe costs every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        generate_unique_id_function=openapi.operation_id,
    )
    app.state.audit_keys = published_checkpoint_keys(settings, stream)
    problems.install(app)
    openapi.install(app)
    # Hot paths first: a request is matched against the routers in this order.
    for router in (
        decisions_router,
        authzen_router,
        tokens_router,
        checks_router,
        rechecks_router,
        admin_router,
        wellknown_router,
        metrics_router,
        privacy_router,
        reviews_router,
        guardians_router,
        connections_router,
    ):
        app.include_router(router)
    app.include_router(content_router)
    app.include_router(credentials_router)
    app.include_router(oidc_router)
    app.include_router(wallet_api_router)
    app.include_router(wallet_router)
    app.include_router(policy_router)
    app.include_router(policy_admin_router)
    app.include_router(authzen_wellknown_router)
    app.include_router(page_router)  # the hosted check page (HTML, not in the API contract)
    # Innermost: refresh and decisions go direct, inside the observer and the body limit.
    direct = direct_routes(tokens_router, ("/v1/tokens/refresh",))
    direct += direct_routes(decisions_router, ("/v1/decisions", "/v1/decisions/batch"))
    direct += direct_routes(authzen_router, (EVALUATION, EVALUATIONS, SEARCH_RESOURCE))
    app.add_middleware(DirectRoutes, routes=direct)
    app.add_middleware(RequestObserver)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.http.max_body_bytes,
        per_path=dict.fromkeys(
            ("/v1/decisions/batch", EVALUATIONS, SEARCH_RESOURCE), settings.http.max_batch_body_bytes
        ),
        per_pattern={
            EVIDENCE_PATHS: settings.http.max_evidence_body_bytes,
            WALLET_PATHS: settings.http.max_wallet_body_bytes,
            PAGE_PHOTO_PATH: settings.http.max_evidence_body_bytes,
            REVIEW_PATH: settings.http.max_evidence_body_bytes,
        },
    )
    if tracing is not None:  # outermost: the span covers everything else
        app.add_middleware(TraceRequests, tracing=tracing)
    return app


def app_from_environment() -> FastAPI:
    """The app from ``AGEBAND_`` variables alone: what each ``serve --workers`` process builds."""
    return create_app(Settings())
