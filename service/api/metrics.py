"""``GET /metrics`` (Prometheus text format); per-request HTTP metrics come from RequestObserver.

The endpoint needs no credential, like ``/healthz``: it carries counts and our own label
values only. Deployments keep it off the public ingress (the Helm chart's NetworkPolicy
admits scrapes from the monitoring namespace).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.api.deps import ServicesDep

router = APIRouter(tags=["meta"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def get_metrics(svc: ServicesDep) -> Response:
    """Prometheus metrics: checks, tokens, decisions, providers, store errors, policy version."""
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)
