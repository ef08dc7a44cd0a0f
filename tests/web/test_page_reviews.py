"""The page offers what issue 18 built: an appeal of the band on record (its deadline and the
stronger methods it takes) and, for a child, the one-time code to give a guardian."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from factories import AUTH, Running, running
from page_client import HTML, Page, open_page
from page_setup import RETURN, page_settings

pytestmark = pytest.mark.anyio
VERIFIED_ADULT = {"method": "os_signal", "source": "google_play", "user_status": "VERIFIED",
                  "age_lower": 18, "age_upper": None}  # fmt: skip
CODE = re.compile(r'<p class="code" id="code">([A-Z0-9]{5}-[A-Z0-9]{5})</p>')


async def post(page: Page, suffix: str, cookie: str | None = None) -> httpx.Response:
    jar = page.cookie if cookie is None else cookie
    return await page.run.http.post(
        page.path + suffix, headers={**HTML, **({"Cookie": f"ageband_page={jar}"} if jar else {})}
    )


async def parent(run: Running) -> None:
    """A guardian of the same app, an adult at the policy's guardian level (effective)."""
    check = await run.start_check("parent-1")
    r = await run.evidence(check["check_id"], VERIFIED_ADULT)
    assert r.json()["outcome"] == "passed", r.text


async def test_a_child_gets_a_code_on_the_page_that_a_guardian_confirms(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run, subject="child-1")
        await page.declare("2015")  # under 13, self-declared: the upper edge is not confirmed
        result = (await page.get()).text
        assert 'id="guardian-form"' in result and "/guardian-code" in result
        shown = await post(page, "/guardian-code")
        assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
        code = CODE.search(shown.text)
        assert code is not None and 'id="guardian-form"' not in shown.text
        assert code.group(1) not in repr(run.services.store.contents())  # type: ignore[attr-defined]
        await parent(run)
        r = await run.http.post(
            "/v1/guardians/confirm", json={"subject": "parent-1", "code": code.group(1)}, headers=AUTH
        )
        assert r.status_code == 200, r.text
        assert r.json()["sid"] == page.sid and r.json()["upper_level"] == "effective"
        # Confirmed from above: the page offers no further code.
        assert 'id="guardian-form"' not in (await page.get()).text


async def test_an_adult_is_offered_no_guardian_code(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run)
        await page.declare("1990")
        html = (await page.get()).text
        assert 'id="guardian-form"' not in html
        r = await post(page, "/guardian-code")
        assert r.status_code == 409 and "guardian_not_available" in r.text


async def test_the_result_page_starts_an_appeal_with_its_deadline_and_stronger_methods(
    tmp_path: Path,
) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run, subject="teen-1")
        await page.declare("2012")  # 13 to 15, self-declared (basic)
        result = (await page.get()).text
        assert 'id="appeal-form"' in result
        r = await post(page, "/appeal")
        assert r.status_code == 303 and r.headers["location"].startswith(page.path)
        html = (await page.get()).text
        assert 'id="appeal-notice"' in html
        assert "2026-03-24" in html  # the bundled policy's 14 days from the pinned clock
        assert "Your current age band stays as it is" in html
        # Only methods stronger than self-declaration: no year-of-birth form, the OS signal listed.
        assert 'id="birth_year"' not in html and "The app sends it itself" in html
        # The page now runs the appeal check; the app gets its id back at the end.
        back = await page.get("/done")
        check_id = parse_qs(urlsplit(back.headers["location"]).query)["check_id"][0]
        assert check_id != page.check_id and back.headers["location"].startswith(RETURN)
        appeal = (await run.http.get(f"/v1/checks/{check_id}", headers=AUTH)).json()
        assert appeal["purpose"] == "appeal" and appeal["status"] == "pending"


async def test_an_app_made_appeal_link_shows_the_deadline(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        check = await run.start_check("teen-2")
        await run.evidence(check["check_id"], {"method": "self_declaration", "birth_year": 2012})
        page = await open_page(run, subject=None, sid=check["sid"], purpose="appeal")
        html = (await page.get()).text
        assert 'id="appeal-notice"' in html and "2026-03-24" in html
        assert 'id="birth_year"' not in html


async def test_an_appeal_starts_only_from_a_result(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run, subject="teen-3")
        r = await post(page, "/appeal")
        assert r.status_code == 409 and "appeal_not_available" in r.text
        assert (await run.http.get(f"/v1/checks/{page.check_id}", headers=AUTH)).json()["status"] == "pending"


async def test_appeal_and_code_forms_need_the_page_cookie(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run, subject="child-2")
        await page.declare("2015")
        for suffix in ("/appeal", "/guardian-code"):
            r = await post(page, suffix, cookie="")
            assert r.status_code == 403 and "page_csrf_failed" in r.text
        assert (await run.http.get(f"/v1/checks/{page.check_id}", headers=AUTH)).json()["purpose"] == "signup"


async def test_an_anonymous_result_offers_neither(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run, subject=None, purpose="access")
        await page.declare("2015")
        html = (await page.get()).text
        assert 'id="appeal-form"' not in html and 'id="guardian-form"' not in html
        assert (await post(page, "/appeal")).status_code == 409
        assert (await post(page, "/guardian-code")).status_code == 409


async def test_erasing_the_subject_removes_its_page_links_and_sessions(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run, subject="gone-1")
        await page.declare("2012")
        assert (await post(page, "/appeal")).status_code == 303  # the session now names a second check
        unopened = await run.http.post(
            "/v1/checks",
            json={"subject": "gone-1", "jurisdiction": "default", "return_url": RETURN},
            headers=AUTH,
        )
        stored = run.services.store.contents()  # type: ignore[attr-defined]
        assert [k for k in stored if ":pgl:" in k] and [k for k in stored if ":pgs:" in k]
        r = await run.http.post("/v1/subjects/erase", json={"subject": "gone-1"}, headers=AUTH)
        assert r.json() == {"erased": True, "found": True}
        left = run.services.store.contents()  # type: ignore[attr-defined]
        assert not [k for k in left if any(f":{kind}:" in k for kind in ("pgl", "pgs", "pgi"))], left
        assert (await page.get()).status_code == 404
        link = await run.http.get(urlsplit(unopened.json()["check_url"]).path, headers=HTML)
        assert link.status_code == 410
