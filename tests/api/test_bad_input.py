"""Bad input never gives a 500: every error is a problem document with a stable ``code``.

Hypothesis sends arbitrary JSON (deep, huge, unicode, wrong types), raw bytes and random
path segments. The app is built once per test function and shared by its examples.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from factories import ADMIN, AUTH, Running, running
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"
LIMIT = 64 * 1024  # http.max_body_bytes default
EVIDENCE_LIMIT = 8 * 1024 * 1024  # http.max_evidence_body_bytes default: evidence may carry a photo

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class App:
    run: Running
    check_id: str  # a real, pending check of the demo client

    @property
    def posts(self) -> list[tuple[str, dict[str, str]]]:
        """Every POST endpoint with the credential it needs."""
        return [
            ("/v1/checks", AUTH),
            (f"/v1/checks/{self.check_id}/evidence", AUTH),
            ("/v1/tokens/refresh", AUTH),
            ("/v1/tokens/introspect", AUTH),
            ("/v1/subjects/revoke", AUTH),
            ("/v1/subjects/erase", AUTH),
            ("/v1/admin/clock", ADMIN),
        ]

    def limit(self, index: int) -> int:
        return EVIDENCE_LIMIT if self.posts[index][0].endswith("/evidence") else LIMIT

    async def post(self, index: int, content: Any, content_type: str | None) -> httpx.Response:
        path, auth = self.posts[index]
        headers = {**auth, **({"Content-Type": content_type} if content_type else {})}
        return await self.run.http.post(path, content=content, headers=headers)


@pytest.fixture
async def app() -> AsyncIterator[App]:
    async with running() as run:
        await run.adult_token("user-1")  # a record, so some inputs reach deeper code
        check = await run.start_check("user-2")
        yield App(run, check["check_id"])


def assert_handled(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:500])
    if r.status_code >= 400:
        assert r.headers["content-type"] == PROBLEM, r.text[:500]
        body = r.json()
        assert isinstance(body["code"], str)
        assert body["code"]
        assert body["status"] == r.status_code


# --- strategies ---------------------------------------------------------------------------------

# Text including lone surrogates and control characters, not only well-formed Unicode.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**80), max_value=10**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=20,
)
# Objects with the fields the endpoints know, holding wrong or edge-case values.
FIELDS = (
    "subject", "sid", "jurisdiction", "purpose", "method", "token", "token_type_hint",
    "birth_year", "band", "source", "user_status", "age_lower", "age_upper", "declaration",
    "lower_bound", "upper_bound", "bracket", "advance",
)  # fmt: skip
likely = st.sampled_from(
    ["default", "os_signal", "self_declaration", "google_play", "apple", "ab1043", "VERIFIED",
     "UNKNOWN", "18_plus", "13_15", "sid_" + "A" * 43, "P1D", "signup", 1990, 2100, 13, -1, 151]
)  # fmt: skip
shaped = st.dictionaries(st.sampled_from(FIELDS), likely | json_values, max_size=6)
bodies = json_values | shaped


def encode(value: Any, ensure_ascii: bool) -> bytes:
    # NaN and Infinity come out as JSON's non-standard literals; surrogates as raw bytes.
    return json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


def nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    if kind == "object":
        return b'{"a":' * depth + b"1" + b"}" * depth
    # Deep nesting inside an otherwise plausible body.
    return b'{"method":"self_declaration","birth_year":' + b"[" * depth + b"]" * depth + b"}"


ENDPOINT = st.integers(min_value=0, max_value=6)
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/problem+json",
    "application/json; charset=latin-1",
    "multipart/form-data; boundary=x",
    None,
]


# --- fuzzing ------------------------------------------------------------------------------------


@FUZZ
@given(endpoint=ENDPOINT, body=bodies, ensure_ascii=st.booleans())
async def test_arbitrary_json_to_every_post_endpoint_is_never_a_500(
    app: App, endpoint: int, body: Any, ensure_ascii: bool
) -> None:
    r = await app.post(endpoint, encode(body, ensure_ascii), "application/json")
    assert_handled(r)


@FUZZ
@given(
    endpoint=ENDPOINT,
    depth=st.integers(min_value=1, max_value=20_000),
    kind=st.sampled_from(["list", "object", "evidence"]),
    digits=st.integers(min_value=1, max_value=20_000),
)
async def test_deep_nesting_and_huge_numbers_are_never_a_500(
    app: App, endpoint: int, depth: int, kind: str, digits: int
) -> None:
    assert_handled(await app.post(endpoint, nested(depth, kind), "application/json"))
    number = b"9" * digits
    assert_handled(await app.post(endpoint, number, "application/json"))
    body = b'{"method":"self_declaration","birth_year":' + number + b',"subject":' + number + b"}"
    assert_handled(await app.post(endpoint, body, "application/json"))


@FUZZ
@given(
    endpoint=ENDPOINT,
    raw=st.binary(max_size=400),
    content_type=st.sampled_from(CONTENT_TYPES),
)
async def test_raw_bytes_to_every_post_endpoint_are_never_a_500(
    app: App, endpoint: int, raw: bytes, content_type: str | None
) -> None:
    assert_handled(await app.post(endpoint, raw, content_type))


@FUZZ
@given(segment=st.text(min_size=1, max_size=80), query=st.dictionaries(
    st.sampled_from(["before", "cursor", "limit", "x"]), st.text(max_size=60), max_size=3
))  # fmt: skip
async def test_random_path_segments_and_queries_to_get_endpoints_are_never_a_500(
    app: App, segment: str, query: dict[str, str]
) -> None:
    encoded = quote(segment, safe="")
    for path in (f"/v1/checks/{encoded}", f"/v1/{encoded}", f"/.well-known/{encoded}"):
        assert_handled(await app.run.http.get(path, headers=AUTH))
    assert_handled(await app.run.http.get("/v1/rechecks/due", params=query, headers=AUTH))
    for path in ("/.well-known/jwks.json", "/healthz", "/readyz"):
        r = await app.run.http.get(path, params=query)
        assert r.status_code == 200, r.text


# --- content type, size, routes -----------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
async def test_wrong_content_type_is_415(app: App, content_type: str | None) -> None:
    for index in range(len(app.posts)):
        r = await app.post(index, b'{"subject": "user-1", "jurisdiction": "default"}', content_type)
        assert r.status_code == 415, (app.posts[index][0], r.text)
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["code"] == "unsupported_media_type"


async def test_body_over_64kb_with_content_length_is_413(app: App) -> None:
    for index in range(len(app.posts)):
        body = b'{"subject": "' + b"x" * app.limit(index) + b'"}'
        r = await app.post(index, body, "application/json")
        assert r.status_code == 413, (app.posts[index][0], r.text)
        assert r.headers["content-type"] == PROBLEM
        assert (r.json()["code"], r.json()["limit"]) == ("body_too_large", app.limit(index))


async def test_chunked_body_over_64kb_is_413(app: App) -> None:
    async def chunks(limit: int) -> AsyncIterator[bytes]:
        yield b'{"subject": "'
        for _ in range(limit // (16 * 1024) + 1):
            yield b"x" * (16 * 1024)
        yield b'"}'

    for index in range(len(app.posts)):
        r = await app.post(index, chunks(app.limit(index)), "application/json")
        assert "content-length" not in r.request.headers
        assert r.status_code == 413, (app.posts[index][0], r.text)
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["code"] == "body_too_large"


async def test_body_at_the_limit_is_accepted(app: App) -> None:
    prefix, suffix = b'{"subject": "', b'", "jurisdiction": "default"}'
    body = prefix + b"x" * (LIMIT - len(prefix) - len(suffix)) + suffix
    assert len(body) == LIMIT
    r = await app.post(0, body, "application/json")
    assert r.status_code == 422, r.text  # parsed: the subject is too long (max 256), not too large
    assert r.json()["code"] == "validation_failed"


async def test_unknown_route_is_404_problem(app: App) -> None:
    for method, path in (("GET", "/nope"), ("POST", "/v1/nope"), ("GET", "/v1/checks/a/b/c")):
        r = await app.run.http.request(method, path, headers=AUTH)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["code"] == "no_such_route"


async def test_wrong_method_is_405_problem_with_allow(app: App) -> None:
    for method, path, allowed in (
        ("GET", "/v1/tokens/refresh", "POST"),
        ("DELETE", "/v1/checks", "POST"),
        ("POST", "/.well-known/jwks.json", "GET"),
        ("PUT", f"/v1/checks/{app.check_id}", "GET"),
    ):
        r = await app.run.http.request(method, path, headers=AUTH)
        assert r.status_code == 405, r.text
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["code"] == "method_not_allowed_on_route"
        assert r.headers["allow"] == allowed  # RFC 9110: a 405 must say what is allowed
