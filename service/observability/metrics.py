"""Prometheus metrics for one app instance, served on ``GET /metrics``.

Each app builds its own ``Metrics`` (with its own registry) in the composition root, so two
apps in one process never share series. Label values are always ours (method names, outcome
codes, provider names, policy versions): never a subject, sid, check id or client input.

Other parts report through the methods below rather than touching the metric objects, so
names and labels stay in one place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from enum import IntEnum
from typing import TYPE_CHECKING, Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from service.observability.tracing import Tracing

# Decisions are table lookups: most finish well under a millisecond, batches take longer.
_DECISION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
# Providers call out to vendors: tens of milliseconds to tens of seconds.
_PROVIDER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class CircuitState(IntEnum):
    """Gauge values of ``ageband_provider_circuit_state``."""

    closed = 0
    half_open = 1
    open = 2


# HTTP methods are the client's to choose: any other is counted as "other", so a client cannot
# grow the series without bound.
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

M = TypeVar("M", Counter, Histogram)


class _Children(Generic[M]):
    """A metric's label children by value: skips ``labels()`` (its validation and lock) on hot
    paths. Bounded like the series themselves, since every label value here is ours."""

    __slots__ = ("_children", "_metric")

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


class _Timer:
    """Observes the time spent in its ``with`` block: a slotted object rather than a generator
    context manager, as decisions sit on apps' hot paths."""

    __slots__ = ("_histogram", "_start")

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._start = 0.0

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self._histogram.observe(time.perf_counter() - self._start)


class _Live(Collector):
    """Series read at scrape time, so a hot-reloaded policy or a rotated key shows at once."""

    def __init__(self) -> None:
        self.policy_version: Callable[[], str] | None = None
        self.signing_kid: Callable[[], str] | None = None
        # A state reported by the caller, or a callback that reads the breaker at scrape time.
        self.circuits: dict[str, CircuitState | Callable[[], str]] = {}

    def collect(self) -> Iterable[Metric]:
        if self.policy_version is not None:
            info = InfoMetricFamily("ageband_policy", "The live policy version.")
            info.add_metric([], {"version": self.policy_version()})
            yield info
        if self.signing_kid is not None:
            key = InfoMetricFamily("ageband_signing_key", "The key id that signs new tokens.")
            key.add_metric([], {"kid": self.signing_kid()})
            yield key
        circuit = GaugeMetricFamily(
            "ageband_provider_circuit_state",
            "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.",
            labels=["provider"],
        )
        for provider, report in sorted(self.circuits.items()):
            state = CircuitState.__members__.get(report()) if callable(report) else report
            if state is not None:  # a state this gauge has no value for is left out
                circuit.add_metric([provider], int(state))
        yield circuit


class Metrics:
    def __init__(self, version: str = "unknown") -> None:
        self.tracing: Tracing | None = None  # spans around the timed steps, when tracing is on
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        Info("ageband_build", "The running ageband version.", registry=r).info({"version": version})
        self._live = _Live()
        r.register(self._live)
        self.http_requests = Counter(
            "ageband_http_requests", "HTTP requests by route template and status.",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        self.http_duration = Histogram(
            "ageband_http_request_duration_seconds", "HTTP request latency by route template.",
            ["method", "route"], buckets=_HTTP_BUCKETS, registry=r,
        )  # fmt: skip
        self.checks_started = Counter(
            "ageband_checks_started", "Checks started, by jurisdiction and purpose.",
            ["jurisdiction", "purpose"], registry=r,
        )  # fmt: skip
        self.checks = Counter(
            "ageband_check_submissions", "Evidence submissions by method and outcome.",
            ["method", "outcome"], registry=r,
        )  # fmt: skip
        self.tokens = Counter(
            "ageband_tokens_issued", "Tokens issued (by checks and refreshes), by band.", ["band"], registry=r
        )  # fmt: skip
        self.refreshes = Counter(
            "ageband_token_refreshes", "Refresh requests by outcome.", ["outcome"], registry=r
        )
        # Route templates, statuses, bands and outcomes are ours: bounded.
        self._http_counts = _Children(self.http_requests)
        self._http_timers = _Children(self.http_duration)
        self._token_counts = _Children(self.tokens)
        self._refresh_counts = _Children(self.refreshes)
        self.introspections = Counter(
            "ageband_token_introspections", "Introspections by answer.", ["active"], registry=r
        )
        self.decisions = Counter(
            "ageband_decisions", "Decisions by action and effect.", ["action", "effect"], registry=r
        )
        self.decision_duration = Histogram(
            "ageband_decision_duration_seconds", "Time to answer one decision request.",
            ["kind"], buckets=_DECISION_BUCKETS, registry=r,
        )  # fmt: skip
        # Actions are the policy's (callers count only decided requests), effects allow/deny.
        self._decision_counts = _Children(self.decisions)
        self._decision_timers = _Children(self.decision_duration)
        self.provider_duration = Histogram(
            "ageband_provider_duration_seconds", "Provider submit latency.",
            ["provider"], buckets=_PROVIDER_BUCKETS, registry=r,
        )  # fmt: skip
        self.provider_errors = Counter(
            "ageband_provider_errors", "Provider calls that raised instead of answering.",
            ["provider", "error"], registry=r,
        )  # fmt: skip
        self.store_errors = Counter(
            "ageband_store_errors", "Store operations that failed to reach the backend.",
            ["backend", "error"], registry=r,
        )  # fmt: skip

    # Live values ---------------------------------------------------------------------
    def watch_policy(self, version: Callable[[], str]) -> None:
        self._live.policy_version = version

    def watch_signing_key(self, kid: Callable[[], str]) -> None:
        self._live.signing_kid = kid

    def circuit(self, provider: str, state: CircuitState | Callable[[], str]) -> None:
        """Report a provider's circuit-breaker state, or give a callback that names it
        (``"closed"``, ``"half_open"`` or ``"open"``) and is read at every scrape."""
        self._live.circuits[provider] = state

    # Events ------------------------------------------------------------------------
    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        if method not in _HTTP_METHODS:
            method = "other"
        self._http_counts(method, route, str(status)).inc()
        self._http_timers(method, route).observe(seconds)

    def check_started(self, jurisdiction: str, purpose: str) -> None:
        self.checks_started.labels(jurisdiction, purpose).inc()

    def check_submission(self, method: str, outcome: str) -> None:
        self.checks.labels(method, outcome).inc()

    def token_issued(self, band: str) -> None:
        self._token_counts(band).inc()

    def refresh(self, outcome: str) -> None:
        self._refresh_counts(outcome).inc()

    def introspection(self, *, active: bool) -> None:
        self.introspections.labels("true" if active else "false").inc()

    def decision(self, action: str, effect: str, count: int = 1) -> None:
        """Count ``count`` decisions (a batch reports each target's effect)."""
        self._decision_counts(action, effect).inc(count)

    def _span(self, name: str, attributes: dict[str, str]) -> AbstractContextManager[object]:
        """A tracing span when tracing is on (the app sets ``tracing``), else nothing."""
        return self.tracing.span(name, attributes) if self.tracing is not None else nullcontext()

    def time_decision(self, kind: str = "single") -> AbstractContextManager[None]:
        """Time one decision request: ``with metrics.time_decision("batch"): ...``."""
        if self.tracing is not None:
            return self._traced_decision(kind)
        return _Timer(self._decision_timers(kind))

    @contextmanager
    def _traced_decision(self, kind: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            with self._span("decision", {"ageband.decision.kind": kind}):
                yield
        finally:
            self.decision_duration.labels(kind).observe(time.perf_counter() - start)

    @contextmanager
    def time_provider(self, provider: str, expected: tuple[type[Exception], ...] = ()) -> Iterator[None]:
        """Time a provider call. An exception is counted by its class name and re-raised,
        unless it is ``expected`` (the caller's own fault, such as unparseable evidence)."""
        start = time.perf_counter()
        try:
            with self._span(f"provider {provider}", {"ageband.provider": provider}):
                yield
        except expected:
            raise
        except Exception as exc:
            self.provider_errors.labels(provider, type(exc).__name__).inc()
            raise
        finally:
            self.provider_duration.labels(provider).observe(time.perf_counter() - start)

    def store_error(self, backend: str, error: str) -> None:
        self.store_errors.labels(backend, error).inc()
