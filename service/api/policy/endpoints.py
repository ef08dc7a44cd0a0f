"""GET /v1/policy/bundle: the decision tables, signed, for deciding inside the app."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from service.api.deps import NO_BODY, AdminActionDep, CallerDep
from service.api.responses import raises
from service.flows import policy_reload
from service.flows.bundle import BUNDLE_TYPE, signed_bundle
from service.flows.errors import PolicyRejected

router = APIRouter(prefix="/v1/policy", tags=["policy"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])


class ReloadOut(BaseModel):
    policy_version: str
    changed: bool


@router.get(
    "/bundle",
    response_class=Response,
    responses={
        200: {
            "description": f"A compact JWS (header typ {BUNDLE_TYPE} and kid) over the compiled decision "
            "tables, with iss (the token issuer), iat, refresh_after and exp (a day by default): verify "
            "it with the key of the JWKS (/.well-known/jwks.json) its kid names, check typ, iss and "
            "exp, refetch (If-None-Match) after refresh_after and decide offline until exp.",
            "content": {"application/jwt": {"schema": {"type": "string"}}},
        },
        304: {"description": "Not modified (If-None-Match)."},
    },
)
async def get_policy_bundle(request: Request, caller: CallerDep) -> Response:
    """The compiled decision tables as a signed bundle: decide locally, with no network call."""
    signed = signed_bundle(caller.svc.bundles)
    headers = {"ETag": signed.etag, "Cache-Control": "private, max-age=60"}
    if request.headers.get("if-none-match") == signed.etag:
        return Response(status_code=304, headers=headers)
    return Response(signed.token, media_type="application/jwt", headers=headers)


@admin_router.post("/policy/reload", openapi_extra={"requestBody": NO_BODY})
@raises(PolicyRejected)
async def reload_policy(caller: AdminActionDep) -> ReloadOut:
    """Reload the policy files now (also done on file change and SIGHUP). All or nothing."""
    done = policy_reload.reload_policy(caller.svc.policy, "admin")
    return ReloadOut(policy_version=done.version, changed=done.changed)
