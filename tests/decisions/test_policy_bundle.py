"""GET /v1/policy/bundle: signed tables with a day's validity, re-signed on refresh and rotation.

That the SDKs reproduce every server decision from it is the conformance corpus's test
(``tests/sdk/test_sdk_conformance.py``)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from ageband_client import InvalidBundle, KeySet, PolicyBundle
from ageband_client.bundle import BUNDLE_TYPE
from factories import ADMIN, AUTH, Running, make_settings, running
from pydantic import ValidationError

from service.tokens.errors import InvalidToken
from service.tokens.keys import KeyState, generate_key, write_key

pytestmark = pytest.mark.anyio
ISSUER = "urn:ageband:dev"  # the default settings' token issuer
LIFETIME, REFRESH = 86_400, 3_600  # the default settings' bundle lifetime and refresh hint


def _payload(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return payload


def _verify(token: str, jwks: dict[str, Any], *, now: float, issuer: str = ISSUER) -> PolicyBundle:
    return PolicyBundle.verify(token, KeySet(jwks), issuer=issuer, now=now, clock=lambda: now)


def _header(token: str) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".", maxsplit=1)[0] + "=="))
    return header


async def _fetch(r: Running) -> tuple[str, dict[str, Any], float]:
    token = (await r.http.get("/v1/policy/bundle", headers=AUTH)).text
    jwks = (await r.http.get("/.well-known/jwks.json")).json()
    return token, jwks, r.clock.now().timestamp()


async def test_bundle_is_a_signed_jws_over_the_tables_with_etag() -> None:
    async with running() as r:
        resp = await r.http.get("/v1/policy/bundle", headers=AUTH)
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "application/jwt"
        header = json.loads(base64.urlsafe_b64decode(resp.text.split(".")[0] + "=="))
        assert header == {"alg": "EdDSA", "typ": BUNDLE_TYPE, "kid": r.services.keyring.signing_key.kid}
        again = await r.http.get("/v1/policy/bundle", headers={**AUTH, "If-None-Match": resp.headers["etag"]})
        assert again.status_code == 304
        assert (await r.http.get("/v1/policy/bundle")).status_code == 401


async def test_tampered_bundle_is_refused() -> None:
    async with running() as r:
        token = (await r.http.get("/v1/policy/bundle", headers=AUTH)).text
        jwks = (await r.http.get("/.well-known/jwks.json")).json()
        head, body, sig = token.split(".")
        payload = json.loads(base64.urlsafe_b64decode(body + "=="))
        payload["outcomes"][0]["allowed"] = not payload["outcomes"][0]["allowed"]
        compact = json.dumps(payload, separators=(",", ":"))  # the same size: only the signature fails
        forged = base64.urlsafe_b64encode(compact.encode()).rstrip(b"=").decode()
        with pytest.raises(InvalidBundle, match="bad signature"):
            _verify(f"{head}.{forged}.{sig}", jwks, now=r.clock.now().timestamp())


async def test_respelled_bundle_is_refused() -> None:
    # The bundle is signed in canonical base64url; a second spelling of it is not accepted.
    async with running() as r:
        token, jwks, now = await _fetch(r)
        assert _verify(token, jwks, now=now)
        head, body, sig = token.split(".")
        for respelled in (f"{head}=.{body}.{sig}", f"{head}.{body}.{sig}==", f"{head}.{body}.+{sig[1:]}"):
            with pytest.raises(ValueError, match="canonical"):
                _verify(respelled, jwks, now=now)


async def test_bundle_carries_issuer_a_day_of_validity_and_a_refresh_hint() -> None:
    async with running() as r:
        token, jwks, now = await _fetch(r)
        payload = _payload(token)
        assert payload["iss"] == r.services.tokens.issuing.signer.issuer == ISSUER
        assert payload["iat"] == int(now)
        assert payload["exp"] == int(now) + LIFETIME
        assert payload["refresh_after"] == int(now) + REFRESH
        assert _verify(token, jwks, now=now).version == payload["pol"]
        with pytest.raises(ValueError, match="another issuer"):
            _verify(token, jwks, issuer="https://someone-else.example", now=now)
        with pytest.raises(ValueError, match="expired"):
            _verify(token, jwks, now=now + LIFETIME + 31)
        with pytest.raises(ValueError, match="future"):
            _verify(token, jwks, now=now - 31)


async def test_bundle_and_token_types_are_never_confused() -> None:
    async with running() as r:
        token, jwks, now = await _fetch(r)
        _, age_token = await r.adult_token("bundle-1", 1990)
        # An age-band token is signed by the same keys, but is no bundle ...
        with pytest.raises(ValueError, match="wrong typ"):
            _verify(age_token, jwks, now=now)
        # ... and the service's token verifier refuses a bundle presented as a token (by its size
        # first; its typ would be refused next).
        with pytest.raises(InvalidToken):
            r.services.tokens.verifier.verify(token, audience="demo")


async def test_bundle_is_re_signed_once_its_refresh_time_has_come() -> None:
    async with running() as r:
        first = await r.http.get("/v1/policy/bundle", headers=AUTH)
        etag = first.headers["etag"]
        r.clock.advance(timedelta(seconds=REFRESH - 1))
        same = await r.http.get("/v1/policy/bundle", headers={**AUTH, "If-None-Match": etag})
        assert same.status_code == 304
        r.clock.advance(timedelta(seconds=1))
        fresh = await r.http.get("/v1/policy/bundle", headers={**AUTH, "If-None-Match": etag})
        assert fresh.status_code == 200 and fresh.headers["etag"] != etag
        assert _payload(fresh.text)["exp"] - r.clock.now().timestamp() == LIFETIME


async def test_bundle_lifetime_and_refresh_come_from_settings() -> None:
    settings = make_settings(bundle={"lifetime": "PT2H", "refresh": "PT10M"})
    async with running(settings) as r:
        token, _, now = await _fetch(r)
        payload = _payload(token)
        assert (payload["refresh_after"], payload["exp"]) == (int(now) + 600, int(now) + 7200)
    with pytest.raises(ValidationError, match="at most half"):
        make_settings(bundle={"lifetime": "PT20M", "refresh": "PT15M"})
    with pytest.raises(ValidationError):
        make_settings(bundle={"lifetime": "P8D"})


async def test_key_rotation_keeps_offline_bundles_verifying(tmp_path: Path) -> None:
    """A bundle is signed by the active key only; after a rotation the next bundle is signed by
    the new key, and a bundle signed before it still verifies while the old key is retired
    (published), so apps deciding offline never break mid-lifetime."""
    old = generate_key("EdDSA", state=KeyState.active)
    new = generate_key("EdDSA", state=KeyState.next)
    for name, key in (("old.pem", old), ("new.pem", new)):
        write_key(key, tmp_path / name, "pem")
    manifest = tmp_path / "keys.json"
    manifest.write_text(
        json.dumps([{"path": "old.pem", "state": "active"}, {"path": "new.pem", "state": "next"}])
    )
    async with running(make_settings(tokens={"keys_file": manifest}, policy_watch=False)) as r:
        before, jwks, now = await _fetch(r)
        assert _header(before)["kid"] == old.kid  # a next key is published, never signs
        assert {k["kid"] for k in jwks["keys"]} == {old.kid, new.kid}
        manifest.write_text(
            json.dumps([{"path": "old.pem", "state": "retired"}, {"path": "new.pem", "state": "active"}])
        )
        assert (await r.http.post("/v1/admin/keys/reload", headers=ADMIN)).status_code == 200
        after, jwks, now = await _fetch(r)
        assert _header(after)["kid"] == new.kid  # re-signed at once, not at refresh_after
        for bundle in (before, after):
            assert _verify(bundle, jwks, now=now)
        # Dropping the retired key too early is what breaks offline apps: the README says when.
        manifest.write_text(json.dumps([{"path": "new.pem", "state": "active"}]))
        assert (await r.http.post("/v1/admin/keys/reload", headers=ADMIN)).status_code == 200
        jwks = (await r.http.get("/.well-known/jwks.json")).json()
        with pytest.raises(InvalidBundle, match="unknown kid"):
            _verify(before, jwks, now=now)


async def test_the_bundle_carries_the_deterrence_texts_for_offline_denials() -> None:
    async with running() as r:
        token, jwks, now = await _fetch(r)
        deterrence = r.services.policy.current.jurisdictions["default"].deterrence
        assert deterrence is not None
        carried = _payload(token)["jurisdictions"]["default"]["deterrence"]
        assert carried["message"] == dict(deterrence.message)
        assert carried["resources"]["FI"] == [dict(x) for x in deterrence.resources["FI"]]
        # Offline, an adult refused a minor sees what the server shows, in the user's language.
        bundle = _verify(token, jwks, now=now)
        adult, minor = ("18_plus", "effective", None), ("13_15", "basic", "effective")
        local = bundle.decide("default", "message.send", adult, minor, locale="de", country="FI")
        body = {"jurisdiction": "default", "action": "message.send", "country": "FI"}
        body |= {
            "actor": {"band": "18_plus", "level": "effective"},
            "target": dict(zip(("band", "level", "upper_level"), minor, strict=True)),
        }
        served = (
            await r.http.post("/v1/decisions", json=body, headers={**AUTH, "Accept-Language": "de"})
        ).json()
        assert local.deterrence is not None and served["deterrence"] is not None
        assert local.deterrence.message == served["deterrence"]["message"] == deterrence.message["de"]
        assert list(local.deterrence.resources) == served["deterrence"]["resources"]
        # An allowed decision carries none.
        assert bundle.decide("default", "message.send", minor, minor).deterrence is None
