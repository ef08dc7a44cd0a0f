"""A fast lane for the hottest route: token refresh, called by every app for every session.

The lane sits inside the request observer and the body limit (so logs, metrics and size
limits apply as everywhere) but before FastAPI's router: a request that matches a lane route
exactly goes straight to its endpoint function, skipping route matching across every router,
dependency solving and the exception middleware. The same endpoint stays registered with
FastAPI, so the OpenAPI document, and any request the lane does not take, are unchanged.
Errors are rendered by the same problem renderer as elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.problems import known_problem

Endpoint = Callable[[Request], Awaitable[Response]]


class FastLane:
    def __init__(self, app: ASGIApp, routes: list[APIRoute]) -> None:
        self.app = app
        # Only routes whose endpoint takes nothing but the Request can run without FastAPI.
        self.routes: dict[tuple[str, str], tuple[APIRoute, Endpoint]] = {
            (method, route.path): (route, route.endpoint)
            for route in routes
            for method in route.methods or ()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = (
            self.routes.get((scope.get("method", ""), scope.get("path", "")))
            if scope["type"] == "http"
            else None
        )
        if lane is None:
            await self.app(scope, receive, send)
            return
        route, endpoint = lane
        scope["route"] = route  # the request observer logs and counts by route template
        try:
            response = await endpoint(Request(scope, receive))
        except Exception as exc:
            problem = known_problem(exc)
            if problem is None:
                raise  # unexpected: the server-error middleware answers and logs it
            response = problem
        await response(scope, receive, send)


def lane_routes(router: APIRouter, paths: tuple[str, ...]) -> list[APIRoute]:
    found = [r for r in router.routes if isinstance(r, APIRoute) and r.path in paths]
    if len(found) != len(paths):
        raise ValueError(f"fast-lane routes not found: {paths}")
    return found
