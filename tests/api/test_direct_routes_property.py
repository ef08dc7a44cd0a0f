"""Direct routes answer exactly as FastAPI's router would: the same app with the direct-routes
middleware taken out is the reference, and both get the same generated requests."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from factories import AUTH, PINNED, make_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.api.direct_routes import DirectRoutes
from service.app import create_app
from service.core.clock import FixedClock

pytestmark = pytest.mark.anyio

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@asynccontextmanager
async def _client(*, direct: bool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(), clock=FixedClock(PINNED), log_sink=io.StringIO())
    if not direct:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not DirectRoutes]
    async with LifespanManager(app) as manager:
        assert _goes_direct(app) is direct, "the reference must run without the middleware"
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ageband.test") as http:
            yield http


def _goes_direct(app: Any) -> bool:
    layer = app.middleware_stack
    while layer is not None:
        if isinstance(layer, DirectRoutes):
            return True
        layer = getattr(layer, "app", None)
    return False


async def _adult(http: httpx.AsyncClient, subject: str) -> str:
    check = (
        await http.post("/v1/checks", json={"subject": subject, "jurisdiction": "default"}, headers=AUTH)
    ).json()
    evidence = {"method": "self_declaration", "birth_year": 1990}
    r = await http.post(f"/v1/checks/{check['check_id']}/evidence", json=evidence, headers=AUTH)
    assert r.json()["outcome"] == "passed", r.text
    return str(check["sid"])


@pytest.fixture
async def pair() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, str]]:
    async with _client(direct=True) as direct, _client(direct=False) as router:
        sid = await _adult(direct, "user-1")
        assert await _adult(router, "user-1") == sid  # the same pepper: the same sid
        yield direct, router, sid


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.pop("jti")  # random per token
    return claims


def _answer(r: httpx.Response) -> tuple[Any, ...]:
    body: Any = r.content
    if r.headers.get("content-type", "").endswith("json"):
        body = r.json()
        if isinstance(body, dict) and isinstance(body.get("token"), str):
            body = {**body, "token": _claims(body["token"])}
    return r.status_code, r.headers.get("content-type"), r.headers.get("www-authenticate"), body


bands = st.sampled_from(["under_13", "13_15", "16_17", "18_plus", "adult", 7, None])
levels = st.sampled_from(["basic", "effective", "highly_effective", "strict", "nope", None])
party = st.fixed_dictionaries(
    {}, optional={"band": bands, "level": levels, "upper_level": levels, "token": st.just("x.y.z")}
)
decision = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(["profile.view", "message.send", "search.show", "unknown.action", 3]),
        "jurisdiction": st.sampled_from(["default", "GB", "EU", "nowhere"]),
        "actor": party,
        "target": party,
        "country": st.sampled_from(["GB", "DE", "XX"]),
        "explain": st.booleans(),
    },
)
batch = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(["profile.view", "unknown.action"]),
        "jurisdiction": st.sampled_from(["default", "nowhere"]),
        "actor": party,
        "targets": st.lists(
            st.fixed_dictionaries({"id": st.sampled_from(["a", "b", "c"])}, optional={"band": bands}),
            max_size=4,
        ),
        "explain": st.booleans(),
    },
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
raw_bodies = st.sampled_from([b"", b"{", b"[]", b"null", b'{"sid": 1}', b"\xff\xfe"])
credentials = st.sampled_from([AUTH, {}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}])


@EXAMPLES
@given(
    path=st.sampled_from(["/v1/decisions", "/v1/decisions/batch", "/v1/tokens/refresh"]),
    body=decision
    | batch
    | json_values
    | st.fixed_dictionaries(
        {},
        optional={
            "sid": st.sampled_from(["SID", "sid_x", 5]),
            "subject": st.sampled_from(["user-1", "user-2", ""]),
        },
    ),
    raw=st.none() | raw_bodies,
    auth=credentials,
)
async def test_direct_routes_answer_as_the_router_does(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient, str],
    path: str,
    body: Any,
    raw: bytes | None,
    auth: dict[str, str],
) -> None:
    direct, router, sid = pair
    if isinstance(body, dict) and body.get("sid") == "SID":
        body = {**body, "sid": sid}
    content = raw if raw is not None else json.dumps(body).encode()
    headers = {**auth, "Content-Type": "application/json"}
    ours = await direct.post(path, content=content, headers=headers)
    reference = await router.post(path, content=content, headers=headers)
    assert _answer(ours) == _answer(reference)


async def test_a_refresh_and_a_decision_answer_alike_when_they_succeed(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient, str],
) -> None:
    direct, router, sid = pair
    body = {
        "jurisdiction": "default",
        "action": "profile.view",
        "actor": {"band": "18_plus"},
        "target": {"band": "13_15"},
    }
    for path, payload in (("/v1/tokens/refresh", {"sid": sid}), ("/v1/decisions", body)):
        ours = await direct.post(path, json=payload, headers=AUTH)
        reference = await router.post(path, json=payload, headers=AUTH)
        assert ours.status_code == 200, ours.text
        assert _answer(ours) == _answer(reference)
