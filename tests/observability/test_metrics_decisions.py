"""Decision and circuit-breaker metrics through the real app: what ``GET /metrics`` shows after
single and batch decisions, and a vendor's breaker state read at each scrape."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from estimation_vendor import face_b64, shared_vendor
from factories import AUTH, PINNED, make_settings, running
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from providers.circuit import CircuitBreaker
from service.app import create_app
from service.core.clock import FixedClock
from service.observability.metrics import Metrics

pytestmark = pytest.mark.anyio

ADULT = {"band": "18_plus", "level": "basic"}
TEEN = {"band": "13_15", "level": "basic"}
Found = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(http: httpx.AsyncClient) -> tuple[str, Found]:
    r = await http.get("/metrics")
    assert r.status_code == 200
    found: Found = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            found[(s.name, frozenset(s.labels.items()))] = s.value
    return r.text, found


def value(found: Found, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def _post(http: httpx.AsyncClient, path: str, **body: Any) -> httpx.Response:
    return await http.post(path, json={"jurisdiction": "default", **body}, headers=AUTH)


async def test_single_and_batch_decisions_are_counted_by_action_and_effect_and_timed() -> None:
    async with running() as run:
        for target in (ADULT, ADULT, TEEN):
            r = await _post(run.http, "/v1/decisions", action="profile.view", actor=ADULT, target=target)
            assert r.status_code == 200, r.text
        targets = [{"id": f"t{i}", **(ADULT if i % 4 == 0 else TEEN)} for i in range(100)]
        batch = {"action": "search.include", "actor": ADULT, "targets": targets}
        r = await _post(run.http, "/v1/decisions/batch", **batch)
        assert r.status_code == 200, r.text
        assert len(r.json()["allowed"]) == 25
        # A refused request is timed but decides nothing: its action never becomes a label value.
        r = await _post(run.http, "/v1/decisions", action="canary.action", actor=ADULT, target=ADULT)
        assert r.status_code == 400
        text, found = await scrape(run.http)

    assert value(found, "ageband_decisions_total", action="profile.view", effect="allow") == 2
    assert value(found, "ageband_decisions_total", action="profile.view", effect="deny") == 1
    assert value(found, "ageband_decisions_total", action="search.include", effect="allow") == 25
    assert value(found, "ageband_decisions_total", action="search.include", effect="deny") == 75
    assert value(found, "ageband_decision_duration_seconds_count", kind="single") == 4
    assert value(found, "ageband_decision_duration_seconds_count", kind="batch") == 1
    assert value(found, "ageband_decision_duration_seconds_sum", kind="batch") > 0
    assert "canary.action" not in text
    assert "t17" not in text  # no target id either


async def test_decisions_get_a_span_under_the_request_when_tracing_is_on() -> None:
    exporter = InMemorySpanExporter()
    settings = make_settings(tracing={"enabled": True})
    app = create_app(settings, clock=FixedClock(PINNED), log_sink=io.StringIO(), span_exporter=exporter)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as http,
    ):
        r = await _post(http, "/v1/decisions/batch", action="search.include", actor=ADULT, targets=[])
        assert r.status_code == 200, r.text
    spans = {s.name: s for s in exporter.get_finished_spans()}
    decision, request = spans["decision"], spans["POST /v1/decisions/batch"]
    assert decision.parent is not None and decision.parent.span_id == request.context.span_id
    assert dict(decision.attributes or {}) == {"ageband.decision.kind": "batch"}


async def test_http_estimation_circuit_state_is_read_at_every_scrape() -> None:
    vendor = shared_vendor()
    config = vendor.config("status/500", retries=0, failure_threshold=2, recovery_seconds=3600)
    settings = make_settings(
        providers={
            "enabled": ["self_declaration", "facial_estimation"],
            "instances": {"facial_estimation": {"type": "http_estimation", "config": config}},
        }
    )
    gauge = "ageband_provider_circuit_state"
    async with running(settings) as run:
        _, found = await scrape(run.http)
        assert found[(gauge, frozenset({("provider", "facial_estimation")}))] == 0  # closed
        # Providers without a breaker have no series.
        assert not [k for k in found if k[0] == gauge and ("provider", "self_declaration") in k[1]]
        check = await run.start_check("circuit-user")
        for _ in range(2):
            r = await run.evidence(check["check_id"], {"method": "facial_estimation", "image": face_b64()})
            assert r.status_code == 503, r.text
        _, found = await scrape(run.http)
        assert value(found, gauge, provider="facial_estimation") == 2  # open


def test_a_breaker_moves_through_its_states_on_the_gauge_with_its_clock() -> None:
    """Closed 0, open 2, half-open 1: each scrape reads the breaker as its clock stands."""
    now = [100.0]
    breaker = CircuitBreaker(failure_threshold=1, recovery_seconds=30, clock=lambda: now[0])
    metrics = Metrics()
    metrics.circuit("vendor", lambda: breaker.state.value)

    def gauge() -> float | None:
        return metrics.registry.get_sample_value("ageband_provider_circuit_state", {"provider": "vendor"})

    assert gauge() == 0
    breaker.failure()
    assert gauge() == 2
    now[0] += 29.9
    assert gauge() == 2
    now[0] += 0.1
    assert gauge() == 1
