"""The Metrics API that use cases call: decisions, provider timing, circuit-breaker state."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from service.observability.metrics import CircuitState, Metrics


def sample(m: Metrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_decisions_are_counted_and_timed() -> None:
    m = Metrics()
    with m.time_decision("batch"):
        m.decision("view_profile", "deny", count=40)
    with m.time_decision():
        m.decision("view_profile", "allow")
    assert sample(m, "ageband_decisions_total", action="view_profile", effect="deny") == 40
    assert sample(m, "ageband_decisions_total", action="view_profile", effect="allow") == 1
    assert sample(m, "ageband_decision_duration_seconds_count", kind="batch") == 1
    assert sample(m, "ageband_decision_duration_seconds_count", kind="single") == 1


def test_provider_errors_count_unexpected_exceptions_only() -> None:
    m = Metrics()
    with pytest.raises(TimeoutError), m.time_provider("vendor_x"):
        raise TimeoutError
    with pytest.raises(ValueError, match="bad"), m.time_provider("vendor_x", expected=(ValueError,)):
        raise ValueError("bad")
    assert sample(m, "ageband_provider_errors_total", provider="vendor_x", error="TimeoutError") == 1
    assert sample(m, "ageband_provider_errors_total", provider="vendor_x", error="ValueError") is None
    assert sample(m, "ageband_provider_duration_seconds_count", provider="vendor_x") == 2


def test_circuit_state_gauge_follows_the_latest_report() -> None:
    m = Metrics()
    m.circuit("vendor_x", CircuitState.open)
    m.circuit("vendor_y", CircuitState.closed)
    m.circuit("vendor_x", CircuitState.half_open)
    assert sample(m, "ageband_provider_circuit_state", provider="vendor_x") == 1
    assert sample(m, "ageband_provider_circuit_state", provider="vendor_y") == 0


def test_circuit_state_callback_is_read_at_each_scrape() -> None:
    m = Metrics()
    state = ["closed"]
    m.circuit("vendor_x", lambda: state[0])
    assert sample(m, "ageband_provider_circuit_state", provider="vendor_x") == 0
    state[0] = "open"
    assert sample(m, "ageband_provider_circuit_state", provider="vendor_x") == 2
    state[0] = "melted"  # a state the gauge has no value for: no series rather than a wrong one
    assert sample(m, "ageband_provider_circuit_state", provider="vendor_x") is None


def test_two_instances_never_share_series() -> None:
    a, b = Metrics(), Metrics()
    a.token_issued("18_plus")
    assert sample(a, "ageband_tokens_issued_total", band="18_plus") == 1
    assert sample(b, "ageband_tokens_issued_total", band="18_plus") is None
    assert b"ageband_build_info" in generate_latest(b.registry)


def test_http_requests_are_counted_by_route_template_and_status() -> None:
    m = Metrics()
    for _ in range(3):
        m.http_request("POST", "/v1/tokens/refresh", 200, 0.002)
    m.http_request("POST", "/v1/tokens/refresh", 409, 0.003)
    labels = {"method": "POST", "route": "/v1/tokens/refresh"}
    assert sample(m, "ageband_http_requests_total", status="200", **labels) == 3
    assert sample(m, "ageband_http_requests_total", status="409", **labels) == 1
    assert sample(m, "ageband_http_request_duration_seconds_count", **labels) == 4


def test_http_method_label_cannot_be_grown_by_clients() -> None:
    """A client picks the request method: any non-standard one is counted as "other"."""
    m = Metrics()
    for method in ("FOO", "BREW", "X" * 40):
        m.http_request(method, "unmatched", 405, 0.001)
    assert sample(m, "ageband_http_requests_total", method="other", route="unmatched", status="405") == 3
    exposed = generate_latest(m.registry).decode()
    assert "BREW" not in exposed and "FOO" not in exposed
