"""The link: POST /v1/checks with a return_url answers a single-use, short-lived check_url."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from factories import AUTH, running
from page_setup import PREFIX, RETURN, page_settings

from service.app import DEMO_CLIENT_KEY

pytestmark = pytest.mark.anyio
HTML = {"Accept": "text/html"}


def body(**extra: object) -> dict[str, object]:
    return {"subject": "user-1", "jurisdiction": "default", **extra}


async def test_a_check_with_a_return_url_offers_a_check_url(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        r = await run.http.post("/v1/checks", json=body(return_url=RETURN, state="s-1"), headers=AUTH)
        assert r.status_code == 201, r.text
        got = r.json()
        url = urlsplit(got["check_url"])
        assert (url.scheme, url.netloc) == ("http", "ageband.test")
        token = url.path.removeprefix("/check/")
        assert len(token) >= 43  # 256 random bits
        assert DEMO_CLIENT_KEY not in got["check_url"] and got["sid"] not in got["check_url"]
        assert got["check_id"] not in got["check_url"]
        plain = await run.http.post("/v1/checks", json=body(), headers=AUTH)
        assert plain.json()["check_url"] is None


async def test_the_public_url_makes_the_link(tmp_path: Path) -> None:
    settings = page_settings(tmp_path, http={"public_url": "https://ageband.example/"})
    async with running(settings) as run:
        r = await run.http.post("/v1/checks", json=body(return_url=RETURN), headers=AUTH)
        assert r.json()["check_url"].startswith("https://ageband.example/check/")


@pytest.mark.parametrize(
    "return_url", [RETURN, PREFIX + "x", PREFIX + "deep/er?step=2&x=%41", PREFIX + "a..b"]
)
async def test_exact_and_prefixed_return_urls_are_allowed(tmp_path: Path, return_url: str) -> None:
    async with running(page_settings(tmp_path)) as run:
        r = await run.http.post("/v1/checks", json=body(return_url=return_url), headers=AUTH)
        assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("return_url", "code"),
    [
        ("https://evil.example/age/done", "return_url_not_allowed"),
        (RETURN + "x", "return_url_not_allowed"),  # exact means exact
        ("https://app.example/returnx/", "return_url_not_allowed"),
        ("https://app.example.evil/return/", "return_url_not_allowed"),
        (PREFIX + "../admin", "return_url_not_allowed"),  # climbs out of the prefix
        (PREFIX + "%2e%2e/admin", "return_url_not_allowed"),
        (PREFIX + "a%2Fb", "return_url_not_allowed"),
        (PREFIX + "..", "return_url_not_allowed"),
        (RETURN + "#frag", "invalid_return_url"),
        ("https://user:pw@app.example/return/x", "invalid_return_url"),
        ("javascript:alert(1)", "invalid_return_url"),
        ("//app.example/return/x", "invalid_return_url"),
        (PREFIX + "a b", "invalid_return_url"),
        (PREFIX + "a\\b", "invalid_return_url"),
        (PREFIX + "x" * 2000, "invalid_return_url"),
    ],
)
async def test_bad_return_urls_are_refused_before_a_check_starts(
    tmp_path: Path, return_url: str, code: str
) -> None:
    async with running(page_settings(tmp_path)) as run:
        r = await run.http.post("/v1/checks", json=body(return_url=return_url), headers=AUTH)
        assert (r.status_code, r.json()["code"]) == (400, code)
        assert return_url not in r.text
        assert run.services.store.contents() == {}  # nothing started, nothing stored


@pytest.mark.parametrize("extra", [{"state": "s"}, {"return_url": RETURN, "state": "x" * 513},
                                   {"return_url": RETURN, "state": "has space"}])  # fmt: skip
async def test_state_is_short_printable_and_needs_a_return_url(tmp_path: Path, extra: dict[str, str]) -> None:
    async with running(page_settings(tmp_path)) as run:
        r = await run.http.post("/v1/checks", json=body(**extra), headers=AUTH)
        assert (r.status_code, r.json()["code"]) == (422, "validation_failed")


async def test_a_link_opens_once(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        r = await run.http.post("/v1/checks", json=body(return_url=RETURN), headers=AUTH)
        path = urlsplit(r.json()["check_url"]).path
        first = await run.http.get(path, headers=HTML)
        assert first.status_code == 303
        session_path = first.headers["location"]
        assert session_path.startswith("/check/s/") and path.removeprefix("/check/") not in session_path
        cookie = first.headers["set-cookie"].lower()
        assert "samesite=strict" in cookie and "httponly" in cookie
        assert f"path={session_path.lower()}" in cookie
        again = await run.http.get(path, headers=HTML)
        assert again.status_code == 410
        assert 'id="code">page_link_gone<' in again.text
        as_problem = await run.http.get(path)
        assert as_problem.json()["code"] == "page_link_gone"


async def test_a_link_dies_with_its_check(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        r = await run.http.post("/v1/checks", json=body(return_url=RETURN), headers=AUTH)
        run.clock.advance(timedelta(minutes=16))  # the default check lifetime is 15 minutes
        gone = await run.http.get(urlsplit(r.json()["check_url"]).path)
        assert (gone.status_code, gone.json()["code"]) == (410, "page_link_gone")


async def test_the_store_keeps_only_the_tokens_hashes(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        r = await run.http.post("/v1/checks", json=body(return_url=RETURN), headers=AUTH)
        token = urlsplit(r.json()["check_url"]).path.removeprefix("/check/")
        opened = await run.http.get(f"/check/{token}")
        session = opened.headers["location"].removeprefix("/check/s/")
        stored = repr(run.services.store.contents())
        assert token not in stored and session not in stored
        assert opened.cookies.get("ageband_page", "") not in stored
