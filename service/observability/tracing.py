"""Optional OpenTelemetry tracing (``pip install 'ageband[tracing]'``), off by default.

When off, nothing here runs and none of OpenTelemetry's tracing code is imported. When on,
each app has its own tracer provider (never the process-global one, so two apps in one
process stay apart) that exports with OTLP over HTTP (configured by the standard ``OTEL_EXPORTER_OTLP_*``
variables) or to the console.

Span attributes go through an allowlist, like log keys through the PII guard: route
templates, methods, status codes, provider names and error classes. Never a path (it holds
check ids), a subject, a sid, a token or an exception message (it may quote input).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span

ALLOWED_ATTRIBUTES = frozenset(
    {
        "http.request.method",
        "http.route",
        "http.response.status_code",
        "ageband.provider",
        "ageband.decision.kind",
        "error.type",
    }
)


def safe_attributes(attributes: Mapping[str, Any]) -> dict[str, str | int]:
    """Only allowlisted keys with plain values survive."""
    return {k: v for k, v in attributes.items() if k in ALLOWED_ATTRIBUTES and isinstance(v, str | int)}


class Tracing:
    def __init__(
        self,
        *,
        service_name: str = "ageband",
        exporter: Literal["otlp", "console"] = "otlp",
        sample_ratio: float = 1.0,
        span_exporter: SpanExporter | None = None,
    ) -> None:
        try:
            from opentelemetry import trace
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import (
                BatchSpanProcessor,
                ConsoleSpanExporter,
                SimpleSpanProcessor,
            )
            from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
            from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
        except ImportError:
            raise RuntimeError(
                "tracing is enabled but not installed: pip install 'ageband[tracing]'"
            ) from None
        self._trace = trace
        self._propagator = TraceContextTextMapPropagator()
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}),
            sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        )
        if span_exporter is not None:  # given by the embedding code (tests): export at once
            self.provider.add_span_processor(SimpleSpanProcessor(span_exporter))
        elif exporter == "console":
            self.provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self._tracer = self.provider.get_tracer("ageband")

    @contextmanager
    def span(
        self,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        server: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[Span]:
        """A span; a server span continues the caller's trace from its ``traceparent`` header.
        An exception marks the span as failed with its class name only, and propagates."""
        trace = self._trace
        context = self._propagator.extract(dict(headers)) if headers is not None else None
        with self._tracer.start_as_current_span(
            name,
            context=context,
            kind=trace.SpanKind.SERVER if server else trace.SpanKind.INTERNAL,
            attributes=safe_attributes(attributes or {}),
            record_exception=False,  # its message and locals may hold input
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(trace.Status(trace.StatusCode.ERROR))
                raise

    def set(self, span: Span, attributes: Mapping[str, Any]) -> None:
        span.set_attributes(safe_attributes(attributes))

    def error(self, span: Span) -> None:
        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR))

    def shutdown(self) -> None:
        self.provider.shutdown()  # flushes what the batch processor holds
