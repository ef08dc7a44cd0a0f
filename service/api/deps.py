"""Request context as dependency aliases: the services, the authenticated caller, its locale.

Each alias is one ``async def`` dependency that reads the Request directly. FastAPI's
per-parameter dependency solving (and the thread pool it uses for plain ``def``) costs more
than this work itself, and these run on every hot-path request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException

from service.clients.registry import Client
from service.flows.context import Services


@dataclass(frozen=True, slots=True)
class Caller:
    svc: Services
    client: Client
    locale: str | None


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# The headers read here, first value of each, from one pass over the raw list (ASGI names are
# lower case): Starlette's Headers would scan the whole list again for every lookup.
_READ = frozenset({b"authorization", b"content-type", b"accept-language"})


def _headers(request: Request) -> dict[bytes, str]:
    found: dict[bytes, str] = {}
    for name, value in request.scope["headers"]:
        if name in _READ and name not in found:
            found[name] = value.decode("latin-1")
    return found


def _locale(header: str | None) -> str | None:
    if not header:
        return None
    first = header.split(",")[0].split(";")[0].strip()
    return first[:35] or None


def _require_json(headers: dict[bytes, str]) -> None:
    ctype = headers.get(b"content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise HTTPException(415)


def _authenticated(request: Request, headers: dict[bytes, str], *, admin: bool) -> Caller:
    svc = _services(request)
    client = svc.clients.authenticate(headers.get(b"authorization"))
    if admin:
        svc.clients.require_admin(client)
    else:
        svc.clients.require_client(client)
    return Caller(svc, client, _locale(headers.get(b"accept-language")))


async def get_services(request: Request) -> Services:
    return _services(request)


async def get_caller(request: Request) -> Caller:
    return _authenticated(request, _headers(request), admin=False)


def json_caller(request: Request) -> Caller:
    """An app calling with a JSON body; also used directly by hot-path endpoints."""
    headers = _headers(request)
    caller = _authenticated(request, headers, admin=False)
    _require_json(headers)
    return caller


async def get_json_caller(request: Request) -> Caller:
    return json_caller(request)


async def get_admin(request: Request) -> Caller:
    headers = _headers(request)
    caller = _authenticated(request, headers, admin=True)
    _require_json(headers)
    return caller


class NoBody(BaseModel):
    """What an admin action takes: nothing, or an empty JSON object."""

    model_config = ConfigDict(extra="forbid")


# Documents the optional empty object (``curl -X POST`` sends no body and no content type).
NO_BODY: dict[str, object] = {
    "required": False,
    "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}},
}


async def get_admin_action(request: Request) -> Caller:
    """An admin action that takes no input: no body (any content type, or none), or ``{}``."""
    headers = _headers(request)
    caller = _authenticated(request, headers, admin=True)
    body = await request.body()
    if body.strip():
        _require_json(headers)
        try:
            NoBody.model_validate_json(body)
        except ValidationError as exc:
            # Rendered by the one problem handler: 400 malformed_json or 422 validation_failed.
            raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None
    return caller


ServicesDep = Annotated[Services, Depends(get_services)]
CallerDep = Annotated[Caller, Depends(get_caller)]
JsonCallerDep = Annotated[Caller, Depends(get_json_caller)]
AdminDep = Annotated[Caller, Depends(get_admin)]
AdminActionDep = Annotated[Caller, Depends(get_admin_action)]
