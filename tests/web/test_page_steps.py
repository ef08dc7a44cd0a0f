"""The page's other steps: a wallet (same-device link and a QR code drawn here), and a check the
page did not complete itself (a wallet's response, the app's OS signal): the result still shows."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from credential_factory import Pki, verifier_signing
from factories import AUTH, default_waterfall_line, make_settings, running, write_policy
from page_client import open_page
from page_setup import page_clients

from service.settings import Settings

pytestmark = pytest.mark.anyio
BASE = "https://ageband.test"


def wallet_settings(tmp_path: Path, *, public_url: str | None = BASE) -> Settings:
    policy = write_policy(
        tmp_path, replace={default_waterfall_line(): "waterfall: [age_credential, self_declaration]"}
    )
    signing = verifier_signing()
    instance = Pki.make().config(
        request_signing={"key": signing["key"], "certificates": signing["certificates"]}
    )
    return make_settings(
        clients_file=page_clients(tmp_path),
        policy_path=policy,
        http={"public_url": public_url} if public_url else {},
        providers={
            "enabled": ["os_signal", "self_declaration", "age_credential"],
            "instances": {"age_credential": {"config": instance}},
        },
    )


async def test_a_wallet_step_offers_a_same_device_link_and_a_qr_code(tmp_path: Path) -> None:
    async with running(wallet_settings(tmp_path)) as run:
        page = await open_page(run)
        html = (await page.get()).text
        link = re.search(r'id="wallet-link" href="([^"]+)"', html)
        assert link is not None
        same_device = link.group(1).replace("&amp;", "&")
        assert same_device.startswith("openid4vp://?")
        request_uri = parse_qs(urlsplit(same_device).query)["request_uri"][0]
        assert request_uri.startswith(f"{BASE}/v1/wallet/age_credential/{page.check_id}")
        # The QR code is the same link, drawn here as inline SVG: nothing is fetched for it.
        drawn = re.search(r"<svg role=\"img\".*?</svg>", html, re.S)
        assert drawn is not None
        expected = segno.make(same_device, error="m").svg_inline(scale=4, border=4, title="x")
        assert re.sub(r"<title>.*?</title>", "", drawn.group(0)).endswith(
            re.sub(r"^<svg[^>]*>(<title>.*?</title>)?", "", expected)
        )
        assert "http://" not in html and "<img" not in html
        # The wallet fetches its signed request from what the link names.
        r = await run.http.get(urlsplit(request_uri).path, params=parse_qs(urlsplit(request_uri).query))
        assert r.status_code == 200 and r.headers["content-type"].startswith(
            "application/oauth-authz-req+jwt"
        )


async def test_without_a_public_url_the_page_skips_the_wallet(tmp_path: Path) -> None:
    async with running(wallet_settings(tmp_path, public_url=None)) as run:
        html = (await (await open_page(run)).get()).text
        assert 'id="wallet-link"' not in html and 'id="birth_year"' in html


async def test_a_check_the_app_completes_shows_its_result_on_the_page(tmp_path: Path) -> None:
    """The user waits on the page while the app sends the OS signal it holds, as the page says."""
    async with running(make_settings(clients_file=page_clients(tmp_path))) as run:
        page = await open_page(run)
        intro = (await page.get()).text
        assert "The app sends it itself" in intro
        signal = {"method": "os_signal", "source": "apple", "declaration": "guardian_declared",
                  "lower_bound": 13, "upper_bound": 15}  # fmt: skip
        r = await run.http.post(f"/v1/checks/{page.check_id}/evidence", json=signal, headers=AUTH)
        assert r.json()["outcome"] == "passed"
        result = (await page.get()).text
        assert "Your age check is done" in result and "Your age band: 13 to 15" in result
        assert "See content for adults: not allowed." in result  # the band's rules, in words
