"""The page as a gate for logged-out visitors: an anonymous check ("confirm you are 18 to see
this page") ends back at the app, which takes the one-time token once; no record is kept."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from factories import AUTH, running
from page_client import open_page
from page_setup import RETURN, page_settings

from service.core.ids import is_one_time_sid

pytestmark = pytest.mark.anyio


async def test_an_anonymous_gate_on_the_page_hands_the_app_a_one_time_token(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run, subject=None, purpose="access")
        assert is_one_time_sid(page.sid)
        assert (await page.declare("1990")).status_code == 303
        shown = (await page.get()).text
        assert "18 or older" in shown  # the result page explains the band, from the check itself
        back = await page.get("/done")
        assert back.status_code == 303
        where = urlsplit(back.headers["location"])
        assert where.geturl().startswith(RETURN)
        assert parse_qs(where.query) == {"check_id": [page.check_id], "state": ["st-1"]}
        # The app takes the token once; it names the one-time pseudonym, and nothing else is kept.
        first = (await run.http.get(f"/v1/checks/{page.check_id}", headers=AUTH)).json()
        assert first["status"] == "passed" and first["token"]["band"] == "18_plus"
        intro = await run.http.post(
            "/v1/tokens/introspect", data={"token": first["token"]["token"]}, headers=AUTH
        )
        assert intro.json()["active"] is True and intro.json()["sub"] == page.sid
        again = (await run.http.get(f"/v1/checks/{page.check_id}", headers=AUTH)).json()
        assert again["status"] == "passed" and again["token"] is None
        stored = run.services.store.contents()  # type: ignore[attr-defined]
        assert not [k for k in stored if k.endswith(":rec")]
        assert "1990" not in repr(stored)
