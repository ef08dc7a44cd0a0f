"""Direct routes: token refresh and decisions, called on apps' hot paths, sent straight to their
endpoint without FastAPI's router.

The middleware sits inside the request observer and the body limit (so logs, metrics and size
limits apply as everywhere) but before FastAPI's router: a request whose method and path match
a direct route exactly goes straight to its endpoint function, skipping route matching across
every router, dependency solving and the exception middleware. The same endpoint stays
registered with FastAPI, so the OpenAPI document (its security too), and any request not taken
here, are unchanged. A direct endpoint takes the Request and its caller; the middleware
authenticates with the credential the endpoint declares, the very object FastAPI would call.
Errors are rendered by the same problem renderer as elsewhere. What this saves per request is
measured in ``bench/stock.py`` (figures in ``bench/README.md``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.deps import Caller, Credential
from service.api.problems import known_problem

Endpoint = Callable[[Request, Caller], Awaitable[Response]]


def _direct(route: APIRoute) -> tuple[APIRoute, Endpoint, Credential]:
    """The endpoint and its credential, for an endpoint that takes ``(request, caller)`` only."""
    d = route.dependant
    params = list(inspect.signature(route.endpoint).parameters)
    deps = d.dependencies
    if (
        len(deps) != 1
        or not isinstance(deps[0].call, Credential)
        or params != [d.request_param_name, deps[0].name]
        or d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params
    ):  # fmt: skip
        raise ValueError(f"{route.path}: a direct endpoint takes (request, caller) and nothing else")
    return route, route.endpoint, deps[0].call


class DirectRoutes:
    """ASGI middleware: exact (method, path) matches go to their endpoint, the rest to ``app``."""

    def __init__(self, app: ASGIApp, routes: list[APIRoute]) -> None:
        self.app = app
        self.routes = {
            (method, route.path): _direct(route) for route in routes for method in route.methods or ()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        direct = (
            self.routes.get((scope.get("method", ""), scope.get("path", "")))
            if scope["type"] == "http"
            else None
        )
        if direct is None:
            await self.app(scope, receive, send)
            return
        route, endpoint, credential = direct
        scope["route"] = route  # the request observer logs and counts by route template
        request = Request(scope, receive)
        try:
            response = await endpoint(request, credential.authenticate(request))
        except Exception as exc:
            problem = known_problem(exc)
            if problem is None:
                raise  # unexpected: the server-error middleware answers and logs it
            response = problem
        await response(scope, receive, send)


def direct_routes(router: APIRouter, paths: tuple[str, ...]) -> list[APIRoute]:
    found = [r for r in router.routes if isinstance(r, APIRoute) and r.path in paths]
    if len(found) != len(paths):
        raise ValueError(f"direct routes not found: {paths}")
    return found
