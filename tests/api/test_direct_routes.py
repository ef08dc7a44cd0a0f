"""Direct routes take only endpoints they can run without FastAPI: (request, caller), nothing else."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Query, Request, Response

from service.api.deps import CallerDep, JsonCallerDep, ServicesDep
from service.api.direct_routes import DirectRoutes, direct_routes
from service.app import create_app
from service.settings import Settings

router = APIRouter()


@router.post("/caller-only")
async def caller_only(request: Request, caller: JsonCallerDep) -> Response:
    return Response()


@router.post("/with-a-query")
async def with_a_query(request: Request, caller: CallerDep, q: Annotated[int, Query()] = 1) -> Response:
    return Response()


@router.post("/no-credential")
async def no_credential(request: Request, svc: ServicesDep) -> Response:
    return Response()


async def _app(scope: object, receive: object, send: object) -> None:
    raise AssertionError("not called")


def test_an_endpoint_of_request_and_caller_goes_direct() -> None:
    direct = DirectRoutes(_app, direct_routes(router, ("/caller-only",)))
    assert set(direct.routes) == {("POST", "/caller-only")}


@pytest.mark.parametrize("path", ["/with-a-query", "/no-credential"])
def test_an_endpoint_with_other_parameters_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="a direct endpoint takes"):
        DirectRoutes(_app, direct_routes(router, (path,)))


def test_the_hot_routes_go_direct() -> None:
    app = create_app(Settings())
    (direct,) = [m for m in app.user_middleware if m.cls is DirectRoutes]
    paths = {route.path for route in direct.kwargs["routes"]}
    assert paths == {"/v1/tokens/refresh", "/v1/decisions", "/v1/decisions/batch"}
