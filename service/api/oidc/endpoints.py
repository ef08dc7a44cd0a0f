"""Redirect methods: start (the app's back end asks where to send its user) and the callback
(the identity provider sends the user back here; no API key, the sealed state authenticates)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse

from providers.oidc.errors import IdentityProviderUnavailable
from service.api.deps import CallerDep, ServicesDep
from service.api.responses import raises
from service.flows.errors import (
    CheckClosed,
    CheckExpired,
    InvalidState,
    MethodNotAllowed,
    MethodUnavailable,
    ReturnUrlNotAllowed,
    StateUsed,
    UnknownCheck,
    UnknownMethod,
    UnknownProvider,
)
from service.flows.redirects import MAX_STATE, finish_redirect, start_redirect
from service.store.errors import StoreUnavailable

router = APIRouter(tags=["checks"])
CheckId = Annotated[str, Path(max_length=64, description="The check id from POST /v1/checks.")]
Provider = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
# Callback parameters read; others (e.g. session_state) are ignored.
_CALLBACK_PARAMS = ("state", "code", "iss", "error")


@router.get("/v1/checks/{check_id}/oidc/{provider}/start", status_code=303, response_class=RedirectResponse)
@raises(
    ReturnUrlNotAllowed, UnknownCheck, CheckExpired, CheckClosed, UnknownProvider, UnknownMethod,
    MethodNotAllowed, MethodUnavailable, IdentityProviderUnavailable, StoreUnavailable,
)  # fmt: skip
async def start_oidc_login(
    check_id: CheckId,
    provider: Provider,
    caller: CallerDep,
    return_url: Annotated[str, Query(max_length=2000, description="On the client's allowlist.")],
) -> RedirectResponse:
    """Redirect (303) to the identity provider. The app's back end calls this and sends its user
    to the ``Location``; after the login the user comes back to ``return_url``."""
    url = await start_redirect(caller.svc.checks, caller.client, check_id, provider, return_url)
    return RedirectResponse(url, status_code=303, headers={"cache-control": "no-store"})


@router.get("/v1/oidc/{provider}/callback", status_code=303, response_class=RedirectResponse)
@raises(UnknownProvider, InvalidState, StateUsed, CheckClosed, IdentityProviderUnavailable, StoreUnavailable)
async def oidc_callback(provider: Provider, request: Request, svc: ServicesDep) -> RedirectResponse:
    """The identity provider's redirect URI. Completes the check, then redirects (303) to the
    app's return URL with ``check_id`` and ``outcome``; the app fetches the result itself."""
    params = {k: v[:MAX_STATE] for k in _CALLBACK_PARAMS if (v := request.query_params.get(k)) is not None}
    done = await finish_redirect(svc.checks, svc.clients, provider, params)
    return RedirectResponse(
        done.location,
        status_code=303,
        headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
    )
