"""The wallet step's Digital Credentials API: where the browser has it, the page's own script
(a same-origin file; CSP unchanged) asks a wallet on this device and posts the answer in the
page's form; the OpenID4VP link and QR code stay as the fallback."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from credential_factory import Pki, verifier_signing
from dc_wallet import request_claims, sealed_answer
from factories import default_waterfall_line, make_settings, running, write_policy
from page_client import HTML, Page, open_page
from page_setup import page_clients

from service.settings import Settings

pytestmark = pytest.mark.anyio
BASE = "https://ageband.test"
SIGNING = verifier_signing()
DC = re.compile(r'<div id="dc-api" hidden data-request="([^"]+)">')


def dc_settings(tmp_path: Path, origins: list[str], pki: Pki | None = None) -> Settings:
    policy = write_policy(
        tmp_path, replace={default_waterfall_line(): "waterfall: [age_credential, self_declaration]"}
    )
    instance = (pki or Pki.make()).config(
        request_signing={"key": SIGNING["key"], "certificates": SIGNING["certificates"]},
        origins=origins,
        vct=["eu.europa.ec.av.1", "urn:eudi:pid:1"],
    )
    return make_settings(
        clients_file=page_clients(tmp_path),
        policy_path=policy,
        http={"public_url": BASE},
        providers={
            "enabled": ["os_signal", "self_declaration", "age_credential"],
            "instances": {"age_credential": {"config": instance}},
        },
    )


def signed_claims(options: dict[str, Any]) -> dict[str, Any]:
    """The page's one request, verified as a wallet does."""
    (req,) = options["requests"]
    return request_claims(req, SIGNING["cert"])


async def post_answer(page: Page, protocol: str, data: str, cookie: str | None = None) -> Any:
    jar = page.cookie if cookie is None else cookie
    return await page.run.http.post(
        page.path + "/digital",
        data={"method": "age_credential", "protocol": protocol, "data": data},
        headers={**HTML, **({"Cookie": f"ageband_page={jar}"} if jar else {})},
    )


async def test_the_wallet_step_offers_the_dc_api_with_the_link_as_fallback(tmp_path: Path) -> None:
    async with running(dc_settings(tmp_path, [BASE])) as run:
        page = await open_page(run)
        shown = await page.get()
        found = DC.search(shown.text)
        assert found is not None
        claims = signed_claims(json.loads(html.unescape(found.group(1))))
        assert claims["expected_origins"] == [BASE] and claims["response_mode"] == "dc_api.jwt"
        assert '<script src="/check/static/wallet.js" defer></script>' in shown.text
        assert 'id="wallet-link"' in shown.text and 'id="wallet-qr"' in shown.text  # the fallback
        assert "<script>" not in shown.text
        csp = shown.headers["content-security-policy"]
        assert csp.startswith("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';")
        assert "connect-src" not in csp  # the answer goes in a form, not a fetch
        script = await run.http.get("/check/static/wallet.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert "navigator.credentials" in script.text and "DigitalCredential" in script.text


async def test_without_the_pages_origin_the_page_offers_only_the_link(tmp_path: Path) -> None:
    async with running(dc_settings(tmp_path, ["https://app.example"])) as run:
        shown = (await (await open_page(run)).get()).text
        assert DC.search(shown) is None and "wallet.js" not in shown
        assert 'id="wallet-link"' in shown


async def test_a_wallet_answer_through_the_dc_api_completes_the_check(tmp_path: Path) -> None:
    pki = Pki.make()  # the issuer the instance trusts
    async with running(dc_settings(tmp_path, [BASE], pki), at=datetime.now(UTC)) as run:
        page = await open_page(run)
        found = DC.search((await page.get()).text)
        assert found is not None
        claims = signed_claims(json.loads(html.unescape(found.group(1))))
        sealed, _ = sealed_answer(pki, claims)
        # Without the page's cookie the answer is refused, and the check is untouched.
        refused = await post_answer(page, "openid4vp-v1-signed", json.dumps({"response": sealed}), cookie="")
        assert refused.status_code == 403
        r = await post_answer(page, "openid4vp-v1-signed", json.dumps({"response": sealed}))
        assert r.status_code == 303, r.text
        assert 'id="band"' in (shown := (await page.get()).text) and "18 or older" in shown


@pytest.mark.parametrize("data", ["not json", "[1, 2]", '"text"'])
async def test_a_malformed_answer_is_a_precise_refusal(tmp_path: Path, data: str) -> None:
    async with running(dc_settings(tmp_path, [BASE])) as run:
        page = await open_page(run)
        r = await post_answer(page, "openid4vp-v1-signed", data)
        assert r.status_code == 400 and "invalid_wallet_response" in r.text
        assert "text/html" in r.headers["content-type"]
