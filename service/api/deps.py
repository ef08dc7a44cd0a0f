"""Request context as dependency aliases: the services, the authenticated caller, its locale.

Each alias is one ``async def`` dependency that reads the Request directly. FastAPI's
per-parameter dependency solving (and the thread pool it uses for plain ``def``) costs more
than this work itself, and these run on every hot-path request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
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


ServicesDep = Annotated[Services, Depends(get_services)]
CallerDep = Annotated[Caller, Depends(get_caller)]
JsonCallerDep = Annotated[Caller, Depends(get_json_caller)]
AdminDep = Annotated[Caller, Depends(get_admin)]
