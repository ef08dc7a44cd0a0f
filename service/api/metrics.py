"""``GET /metrics`` (Prometheus text format) and the per-request HTTP metrics.

The endpoint needs no credential, like ``/healthz``: it carries counts and our own label
values only. Deployments keep it off the public ingress (the Helm chart's NetworkPolicy
admits scrapes from the monitoring namespace).
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.deps import ServicesDep
from service.flows.context import Services

router = APIRouter(tags=["meta"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(svc: ServicesDep) -> Response:
    """Prometheus metrics: checks, tokens, decisions, providers, store errors, policy version."""
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)


class HttpMetrics:
    """Counts and times every request by route template (never the raw path, which holds ids)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            services: Services | None = getattr(scope["app"].state, "services", None)
            if services is not None:
                route = getattr(scope.get("route"), "path", "unmatched")
                services.metrics.http_request(scope["method"], route, status, time.perf_counter() - start)
