"""OpenTelemetry tracing: spans when it is on (named by route templates, continuing the caller's
trace, never carrying personal values); when it is off, none of its tracing code is imported."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import httpx
import pytest
from asgi_lifespan import LifespanManager
from factories import AUTH, PINNED, ROOT, make_settings
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from service.app import create_app
from service.core.clock import FixedClock
from service.observability.tracing import ALLOWED_ATTRIBUTES

pytestmark = pytest.mark.anyio

CANARY = "canary-subject-jane.doe@example.com"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_spans_when_tracing_is_on() -> None:
    exporter = InMemorySpanExporter()
    settings = make_settings(tracing={"enabled": True})
    app = create_app(settings, clock=FixedClock(PINNED), log_sink=io.StringIO(), span_exporter=exporter)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as http,
    ):
        traceparent = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
        started = await http.post(
            "/v1/checks", json={"subject": CANARY, "jurisdiction": "default"}, headers={**AUTH, **traceparent}
        )
        check_id, sid = started.json()["check_id"], started.json()["sid"]
        done = await http.post(
            f"/v1/checks/{check_id}/evidence",
            json={"method": "self_declaration", "birth_year": 1990},
            headers=AUTH,
        )
        token = done.json()["token"]["token"]
        adult = {"band": "18_plus"}
        decided = await http.post(
            "/v1/decisions",
            json={"jurisdiction": "default", "action": "profile.view", "actor": adult, "target": adult},
            headers=AUTH,
        )
        assert decided.status_code == 200
        assert (await http.get(f"/nowhere/{CANARY}")).status_code == 404
    spans = exporter.get_finished_spans()
    by_name = {s.name: s for s in spans}
    check = by_name["POST /v1/checks"]
    assert check.kind is SpanKind.SERVER
    assert check.attributes is not None
    assert dict(check.attributes) == {
        "http.request.method": "POST",
        "http.route": "/v1/checks",
        "http.response.status_code": 201,
    }
    assert format(check.context.trace_id, "032x") == TRACE_ID  # the caller's trace goes on
    evidence = by_name["POST /v1/checks/{check_id}/evidence"]
    provider = by_name["provider self_declaration"]
    assert provider.parent is not None and provider.parent.span_id == evidence.context.span_id
    assert by_name["POST /v1/decisions"].attributes["http.response.status_code"] == 200  # type: ignore[index]
    unmatched = [s for s in spans if s.attributes and s.attributes.get("http.route") == "unmatched"]
    assert unmatched and unmatched[0].name == "GET"
    # No personal value anywhere in what a tracing backend receives.
    exported = repr([(s.name, dict(s.attributes or {}), s.events, s.resource.attributes) for s in spans])
    for secret in (CANARY, check_id, sid, token, "1990"):
        assert secret not in exported


async def test_a_failing_provider_span_names_the_error_class_only() -> None:
    exporter = InMemorySpanExporter()
    settings = make_settings(tracing={"enabled": True})
    app = create_app(settings, clock=FixedClock(PINNED), log_sink=io.StringIO(), span_exporter=exporter)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t") as http,
    ):
        started = await http.post(
            "/v1/checks", json={"subject": CANARY, "jurisdiction": "default"}, headers=AUTH
        )
        bad = await http.post(
            f"/v1/checks/{started.json()['check_id']}/evidence",
            json={"method": "self_declaration", "birth_year": CANARY},
            headers=AUTH,
        )
        assert bad.status_code < 500, bad.text
    exported = repr([(s.name, dict(s.attributes or {}), s.events) for s in exporter.get_finished_spans()])
    assert CANARY not in exported
    for span in exporter.get_finished_spans():
        if span.status.status_code is StatusCode.ERROR:
            assert set(span.attributes or {}) <= ALLOWED_ATTRIBUTES


# Run in a fresh interpreter: OpenTelemetry's global state is per process. ``start_a_check``
# starts a check through a real app and then awaits ``then(app, http, check_id)``.
_PRELUDE = """
import asyncio, io, sys
import httpx
from asgi_lifespan import LifespanManager
from service.app import create_app
from service.settings import Settings

AUTH = {"Authorization": "Bearer ageband-demo-key"}

async def start_a_check(then):
    app = create_app(Settings(policy_path="policies"), log_sink=io.StringIO())
    async with LifespanManager(app) as m, httpx.AsyncClient(
        transport=httpx.ASGITransport(app=m.app), base_url="http://t"
    ) as http:
        r = await http.post("/v1/checks", json={"subject": "u", "jurisdiction": "default"}, headers=AUTH)
        assert r.status_code == 201, r.text
        await then(app, http, r.json()["check_id"])
"""


def _last_line_of(script: str) -> str:
    out = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", _PRELUDE + textwrap.dedent(script)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_nothing_of_opentelemetry_is_imported_when_tracing_is_off() -> None:
    script = """
        async def tracing_is_off(app, http, check_id):
            assert app.state.services.metrics.tracing is None

        asyncio.run(start_a_check(tracing_is_off))
        # redis-py imports the OpenTelemetry API (for its own metrics) whenever it is installed;
        # what tracing would bring in (the SDK's tracer and span exporters) must be absent.
        ours = ("opentelemetry.sdk.trace", "opentelemetry.exporter")
        print(sorted(m for m in sys.modules if m.startswith(ours)))
        """
    assert _last_line_of(script) == "[]"


def test_a_global_tracer_provider_gets_no_framework_spans_with_raw_paths() -> None:
    """A deployer's global OpenTelemetry provider (set for other code in the process) must not
    make the web framework trace requests itself: its spans would carry raw paths (check ids)."""
    script = """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)

        async def read_the_check(app, http, check_id):
            r = await http.get(f"/v1/checks/{check_id}", headers=AUTH)
            assert r.status_code == 200, r.text

        asyncio.run(start_a_check(read_the_check))
        with trace.get_tracer("probe").start_as_current_span("probe"):
            pass  # proves the provider records spans at all
        print(repr([(s.name, dict(s.attributes or {})) for s in exporter.get_finished_spans()]))
        """
    assert _last_line_of(script) == "[('probe', {})]"
