"""Admin actions that take no input (policy and key reloads): called as their OpenAPI says, with
no body and no content type, or with an empty JSON object; anything else in the body is refused
with a precise problem."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from factories import ADMIN, AUTH, Running, make_settings, running

from service.tokens.keys import generate_key, write_key

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"
RELOADS = ("/v1/admin/policy/reload", "/v1/admin/keys/reload")


@pytest.fixture
async def run(tmp_path: Path) -> AsyncIterator[Running]:
    write_key(generate_key("EdDSA"), tmp_path / "ed.pem", "pem")
    manifest = tmp_path / "keys.json"
    manifest.write_text(json.dumps([{"path": "ed.pem", "state": "active"}]))
    async with running(make_settings(tokens={"keys_file": str(manifest)}, policy_watch=False)) as r:
        yield r


@pytest.mark.parametrize("path", RELOADS)
async def test_no_body_and_no_content_type_is_accepted(run: Running, path: str) -> None:
    r = await run.http.post(path, headers=ADMIN)
    assert "content-type" not in r.request.headers and r.request.content == b""
    assert r.status_code == 200, r.text
    assert r.json()["changed"] is False


@pytest.mark.parametrize("path", RELOADS)
@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{}", "application/json"),
        (b" { } \n", "application/json; charset=utf-8"),
        (b"", "application/json"),
        (b"", "application/x-www-form-urlencoded"),  # curl -d '' sends this
    ],
)
async def test_an_empty_object_or_an_empty_body_of_any_type_is_accepted(
    run: Running, path: str, content: bytes, content_type: str
) -> None:
    r = await run.http.post(path, content=content, headers={**ADMIN, "Content-Type": content_type})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", RELOADS)
@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{", "application/json", 400, "malformed_json"),
        (b'{"force": true}', "application/json", 422, "validation_failed"),
        (b"[]", "application/json", 422, "validation_failed"),
        (b"null", "application/json", 422, "validation_failed"),
        (b"{}", "text/plain", 415, "unsupported_media_type"),
        (b"{}", None, 415, "unsupported_media_type"),
    ],
)
async def test_a_body_that_is_not_an_empty_object_is_a_precise_problem(
    run: Running, path: str, content: bytes, content_type: str | None, status: int, code: str
) -> None:
    headers = {**ADMIN, **({"Content-Type": content_type} if content_type else {})}
    r = await run.http.post(path, content=content, headers=headers)
    assert (r.status_code, r.headers["content-type"]) == (status, PROBLEM), r.text
    assert r.json()["code"] == code


@pytest.mark.parametrize("path", RELOADS)
async def test_the_credential_is_checked_before_the_body(run: Running, path: str) -> None:
    bad = await run.http.post(path, content=b"{", headers={"Content-Type": "text/plain"})
    assert bad.status_code == 401
    assert (await run.http.post(path, headers=AUTH)).status_code == 403
