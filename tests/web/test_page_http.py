"""The page over HTTP: headers, markup without inline script, forms, result, return."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from factories import AUTH, default_waterfall_line, running, write_policy
from page_client import open_page
from page_setup import FRAMER, RETURN, page_settings

pytestmark = pytest.mark.anyio

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors "
)


def assert_strict(r_headers: dict[str, str] | object, frame_ancestors: str) -> None:
    h = r_headers
    assert h["content-security-policy"] == CSP + frame_ancestors  # type: ignore[index]
    assert h["referrer-policy"] == "no-referrer"  # type: ignore[index]
    assert h["cache-control"] == "no-store"  # type: ignore[index]
    assert h["x-content-type-options"] == "nosniff"  # type: ignore[index]


def assert_no_inline_code(html: str) -> None:
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert re.search(r'src="/check/static/[a-z]+\.js"', tag), tag
    assert not re.search(r"<script\b[^>]*>[^<]+</script>", html)
    assert not re.search(r"\son[a-z]+=", html)  # no event handler attributes
    assert " style=" not in html and "<style" not in html
    assert "http://" not in html and "https://" not in html  # nothing from another host


async def test_the_page_is_strict_and_frames_only_for_listed_origins(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run)
        r = await page.get()
        assert r.status_code == 200
        assert_strict(r.headers, FRAMER)
        assert_no_inline_code(r.text)
        assert 'for="birth_year"' in r.text and 'lang="en"' in r.text
    async with running(page_settings(tmp_path, frame_ancestors=[])) as run:
        r = await (await open_page(run)).get()
        assert_strict(r.headers, "'none'")
        assert r.headers["x-frame-options"] == "DENY"


async def test_static_files_are_same_origin_and_small(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        for name, kind in (("page.css", "text/css"), ("page.js", "text/javascript")):
            r = await run.http.get(f"/check/static/{name}")
            assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
            assert "http://" not in r.text and "https://" not in r.text and "@import" not in r.text
        assert (await run.http.get("/check/static/app.py")).status_code == 404
        assert (await run.http.get("/check/static/nope.js")).status_code == 404


async def test_self_declaration_ends_on_the_return_url_with_check_id_and_state(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run, state="opaque-42")
        sent = await page.declare("1990")
        assert (sent.status_code, sent.headers["location"]) == (303, page.path)
        result = await page.get()
        assert "Your age check is done" in result.text and "18 or older" in result.text
        assert "Send messages: with people 18 or older." in result.text  # from the rules
        assert "See content for adults: not allowed. Confirm your age" in result.text
        assert_no_inline_code(result.text)
        back = await page.get("/done")
        assert back.status_code == 303
        location = urlsplit(back.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == RETURN
        assert parse_qs(location.query) == {"check_id": [page.check_id], "state": ["opaque-42"]}
        assert (await page.get()).status_code == 404  # the page session ended
        status = await run.http.get(f"/v1/checks/{page.check_id}", headers=AUTH)
        assert status.json()["status"] == "passed"  # the app reads the result over the API


async def test_a_form_without_the_pages_cookie_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run)
        for cookie in ("", "forged-cookie-value"):
            r = await page.declare("1990", cookie=cookie)
            assert r.status_code == 403 and 'id="code">page_csrf_failed<' in r.text
        status = await run.http.get(f"/v1/checks/{page.check_id}", headers=AUTH)
        assert status.json()["status"] == "pending" and status.json()["attempts_left"] == 5


async def test_unusable_evidence_shows_the_form_again(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run)
        r = await page.declare("abcd")
        assert r.status_code == 422
        assert 'role="status"' in r.text and 'for="birth_year"' in r.text
        assert "Attempts left: 4" in r.text


async def test_a_minor_hears_what_the_band_means_and_the_policy_texts_are_escaped(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        replace={"en: This app must know your age band": "en: <script>alert(1)</script> This app must know"},
    )
    async with running(page_settings(tmp_path, policy_path=policy)) as run:
        page = await open_page(run)
        intro = await page.get()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in intro.text and "<script>alert" not in intro.text
        await page.declare("2012")
        result = await page.get()
        assert "13 to 15" in result.text
        assert "See content for adults: not allowed." in result.text


async def test_unknown_pages_are_not_found(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        r = await run.http.get("/check/s/" + "x" * 43, headers={"Accept": "text/html"})
        assert r.status_code == 404 and 'id="code">unknown_page<' in r.text
        long = await run.http.get("/check/s/" + "x" * 200)
        assert long.status_code == 422


FIRST_LOAD_LIMIT = 50 * 1024


async def test_the_first_load_is_at_most_50_kb(tmp_path: Path) -> None:
    """HTML, CSS, script and icon of the heaviest first page (the photo form, with its script)."""
    policy = write_policy(tmp_path, replace={default_waterfall_line(): "waterfall: [facial_estimation]"})
    local = {"facial_estimation": {"type": "local_estimation"}}
    providers = {"enabled": ["facial_estimation"], "instances": local}
    settings = page_settings(tmp_path, policy_path=policy, providers=providers)
    async with running(settings) as run:
        page = await open_page(run)
        html = (await page.get()).content
        assert b'id="photo-form"' in html
        assets = re.findall(rb'(?:href|src)="(/check/static/[a-z.]+)"', html)
        assert sorted(assets) == [
            b"/check/static/icon.svg",
            b"/check/static/page.css",
            b"/check/static/page.js",
        ]
        total = len(html) + sum([len((await run.http.get(a.decode())).content) for a in assets])
        print(f"first load: {total} bytes")
        assert total <= FIRST_LOAD_LIMIT
