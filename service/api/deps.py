"""Dependency aliases: the services, the authenticated client, the caller's locale."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.exceptions import HTTPException

from service.clients.registry import Client
from service.flows.context import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_client(
    services: ServicesDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Client:
    client = services.clients.authenticate(authorization)
    services.clients.require_client(client)
    return client


def get_admin(
    services: ServicesDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Client:
    client = services.clients.authenticate(authorization)
    services.clients.require_admin(client)
    return client


def get_locale(
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str | None:
    if not accept_language:
        return None
    first = accept_language.split(",")[0].split(";")[0].strip()
    return first[:35] or None


def require_json(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise HTTPException(415)


ClientDep = Annotated[Client, Depends(get_client)]
AdminDep = Annotated[Client, Depends(get_admin)]
LocaleDep = Annotated[str | None, Depends(get_locale)]
JsonBody = Depends(require_json)
