from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from service.api.deps import ServicesDep
from service.api.responses import RETRY_AFTER
from service.store.errors import StoreUnavailable

router = APIRouter(tags=["meta"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    policy_version: str
    policy_rejected: list[str] = Field(
        default_factory=list, description="Issues of the last refused policy reload (the live one stays)."
    )
    store: str
    providers: dict[str, Any]


@router.get("/.well-known/jwks.json")
async def get_jwks(svc: ServicesDep, response: Response) -> dict[str, Any]:
    """Public keys (next, active, retired) that verify age-band tokens."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return svc.keyring.jwks()


@router.get("/.well-known/audit-keys.json")
async def get_audit_keys(request: Request, response: Response) -> dict[str, Any]:
    """Public keys (a JWKS of Ed25519 keys) that verify the audit trail's signed checkpoints:
    ``ageband privacy report --checkpoint-key``. Never a token key."""
    response.headers["Cache-Control"] = "public, max-age=300"
    keys: dict[str, Any] = request.app.state.audit_keys
    return keys


@router.get("/healthz")
async def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get("/readyz", responses={503: {"description": "Not ready", "headers": RETRY_AFTER}})
async def readyz(svc: ServicesDep, response: Response) -> Readiness:
    """Readiness: the store answers and a policy is loaded."""
    try:
        await svc.store.ping()
        store = "ok"
    except Exception:  # noqa: BLE001  # readiness reports any store failure rather than raising
        store = "unavailable"
        response.status_code = 503
        response.headers["Retry-After"] = str(StoreUnavailable.retry_after_seconds)
    providers = {
        p.name: {"available": p.available, "reason": p.unavailable_reason} for p in svc.providers.info()
    }
    return Readiness(
        status="ok" if store == "ok" else "degraded",
        policy_version=svc.policy.current.version,
        policy_rejected=list(svc.policy.rejected),
        store=store,
        providers=providers,
    )
