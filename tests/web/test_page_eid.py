"""The page's eID step against a real OpenID Connect provider on loopback: the page's link starts
the login, the provider's callback completes the check and brings the user back to the page."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from factories import default_waterfall_line, make_settings, running, write_policy
from page_client import HTML, open_page
from page_setup import page_clients

from service.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "oidc"))
from oidc_servers import mock_idp

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def idp() -> Iterator[str]:
    with mock_idp([{"sub": "adult", "claims": {"birthdate": "1990-05-17"}}]) as issuer:
        yield issuer


def eid_settings(tmp_path: Path, issuer: str) -> Settings:
    policy = write_policy(
        tmp_path,
        replace={
            default_waterfall_line(): "waterfall: [bank, self_declaration]",
            "\nmethods:\n": "\nmethods:\n  bank:\n    class: eid_oidc\n    level: highly_effective\n",
        },
    )
    config = {
        "issuer": issuer, "client_id": "ageband-test", "client_secret": "s3cret",
        "redirect_uri": "http://localhost/v1/oidc/bank/callback", "scopes": ["openid", "profile"],
        "allow_insecure_loopback": True, "timeout_seconds": 5.0,
    }  # fmt: skip
    return make_settings(
        policy_path=policy,
        clients_file=page_clients(tmp_path),
        providers={
            "enabled": ["self_declaration", "bank"],
            "instances": {"bank": {"type": "eid_oidc", "config": config}},
        },
    )


async def test_an_eid_login_from_the_page_comes_back_to_the_page(tmp_path: Path, idp: str) -> None:
    async with running(eid_settings(tmp_path, idp), at=datetime.now(UTC)) as run:
        page = await open_page(run)
        html = (await page.get()).text
        link = re.search(r'id="eid-login" href="([^"]+)"', html)
        assert link is not None
        start = await run.http.get(
            link.group(1).replace("&amp;", "&"), headers={"Cookie": f"ageband_page={page.cookie}"}
        )
        assert start.status_code == 303 and start.headers["location"].startswith(idp)
        refused = await run.http.get(link.group(1).replace("&amp;", "&"), headers=HTML)  # no cookie
        assert refused.status_code == 403
        async with httpx.AsyncClient() as browser:
            login = await browser.post(start.headers["location"], data={"sub": "adult"})
        callback = urlsplit(login.headers["location"])
        params = {k: v[0] for k, v in parse_qs(callback.query).items()}
        back = await run.http.get(callback.path, params=params)
        assert back.status_code == 303
        assert urlsplit(back.headers["location"]).path == page.path  # the page, not the app
        result = (await page.get()).text
        assert "Your age check is done" in result and "18 or older" in result
