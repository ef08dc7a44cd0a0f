"""The hosted OpenID4VP 1.0 side through the API, with presentations made by the reference
libraries: a wallet that follows ``request_uri`` and answers ``direct_post.jwt`` or
``direct_post``, and a page that uses the Digital Credentials API (signed and unsigned, with an
encrypted response). The wallet's side is played here with joserfc, an independent JOSE use of
the published request: its key, nonce, state and response URI are read from the signed request
object, never from ageband's internals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from credential_factory import (
    Pki,
    dc_api_transcript,
    issue_mdoc,
    issue_sd_jwt,
    present_mdoc,
    present_sd_jwt,
    session_transcript,
    verifier_signing,
)
from cryptography.hazmat.primitives.asymmetric import ec
from factories import AUTH, Running, default_waterfall_line, make_settings, running, write_policy
from joserfc import jwe, jws
from joserfc.jwk import ECKey
from sd_jwt.common import SDObj

from service.core import base64url
from service.store.memory import MemoryStore

pytestmark = pytest.mark.anyio

BASE = "https://ageband.test"
ORIGIN = "https://app.ageband.test"
SIGNING = verifier_signing()


def settings(tmp_path: Path, pki: Pki, **config: Any) -> Any:
    policy = write_policy(
        tmp_path,
        replace={default_waterfall_line(): "waterfall: [age_credential, os_signal, self_declaration]"},
    )
    signing = {"key": SIGNING["key"], "certificates": SIGNING["certificates"]}
    instance = pki.config(
        request_signing=signing, origins=[ORIGIN], vct=["eu.europa.ec.av.1", "urn:eudi:pid:1"]
    )
    instance.update(config)
    return make_settings(
        policy_path=policy,
        http={"public_url": BASE},
        providers={
            "enabled": ["os_signal", "self_declaration", "age_credential"],
            "instances": {"age_credential": {"config": instance}},
        },
    )


@pytest.fixture
def real_now() -> datetime:
    return datetime.now(UTC)


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def _links(run: Running, check_id: str, encrypted: bool = True) -> dict[str, Any]:
    r = await run.http.get(
        f"/v1/checks/{check_id}/presentation/age_credential/wallet",
        params={"encrypted": str(encrypted).lower()},
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _verified_request(jwt: str) -> dict[str, Any]:
    """What a wallet checks of a request object: ES256 by the x5c leaf, which names the
    x509_san_dns client id."""
    key = ECKey.import_key(SIGNING["cert"].public_key())
    registry = jws.JWSRegistry(algorithms=["ES256"])
    registry.max_header_length = 8 * 1024  # the header carries the x5c chain
    obj = jws.deserialize_compact(jwt, key, algorithms=["ES256"], registry=registry)
    header = obj.headers()
    assert header["typ"] == "oauth-authz-req+jwt" and header["alg"] == "ES256" and header["x5c"]
    claims: dict[str, Any] = json.loads(obj.payload)
    return claims


async def _request_object(run: Running, check_id: str, encrypted: bool = True) -> dict[str, Any]:
    links = await _links(run, check_id, encrypted)
    query = parse_qs(urlsplit(links["authorization_request"]).query)
    assert query["request_uri"] == [links["request_uri"]]
    r = await run.http.get(_path(links["request_uri"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/oauth-authz-req+jwt")
    claims = _verified_request(r.text)
    assert claims["client_id"] == query["client_id"][0] == "x509_san_dns:verifier.ageband.test"
    return claims


def _encrypt(claims: dict[str, Any], payload: dict[str, Any], enc: str = "A128GCM") -> str:
    jwk = claims["client_metadata"]["jwks"]["keys"][0]
    key = ECKey.import_key(jwk)
    header = {"alg": "ECDH-ES", "enc": enc, "kid": jwk["kid"]}
    return jwe.encrypt_compact(header, json.dumps(payload).encode(), key, algorithms=["ECDH-ES", enc])


def _thumbprint(claims: dict[str, Any]) -> bytes:
    return base64url.decode(ECKey.import_key(claims["client_metadata"]["jwks"]["keys"][0]).thumbprint())


def _mdoc(pki: Pki, transcript: list[Any], claims: dict[str, Any] | None = None) -> str:
    device = ec.generate_private_key(ec.SECP256R1())
    signed = issue_mdoc(pki, claims or {"age_over_18": True}, device)
    return present_mdoc(signed, device, "", transcript=transcript)


async def _check_status(run: Running, check_id: str) -> str:
    r = await run.http.get(f"/v1/checks/{check_id}", headers=AUTH)
    status: str = r.json()["status"]
    return status


async def test_a_wallet_follows_request_uri_and_answers_direct_post_jwt(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        check = await run.start_check("wallet-same-device")
        claims = await _request_object(run, check["check_id"])
        assert claims["response_mode"] == "direct_post.jwt" and claims["response_type"] == "vp_token"
        assert claims["aud"] == "https://self-issued.me/v2"
        assert claims["client_metadata"]["encrypted_response_enc_values_supported"] == ["A128GCM", "A256GCM"]
        transcript = session_transcript(
            claims["client_id"], claims["nonce"], claims["response_uri"], _thumbprint(claims)
        )
        vp_token = {"age_mdoc": [_mdoc(pki, transcript)]}
        response = _encrypt(claims, {"vp_token": vp_token, "state": claims["state"]})
        r = await run.http.post(_path(claims["response_uri"]), data={"response": response})
        assert r.status_code == 200, r.text
        assert r.json() == {"outcome": "passed"}
        assert await _check_status(run, check["check_id"]) == "passed"


async def test_the_same_key_is_made_again_for_the_check(tmp_path: Path, pki: Pki, real_now: datetime) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        a, b = await run.start_check("key-a"), await run.start_check("key-b")
        first, again = await _request_object(run, a["check_id"]), await _request_object(run, a["check_id"])
        other = await _request_object(run, b["check_id"])
        assert first["client_metadata"]["jwks"] == again["client_metadata"]["jwks"]
        assert first["client_metadata"]["jwks"] != other["client_metadata"]["jwks"]
        assert "d" not in first["client_metadata"]["jwks"]["keys"][0]


async def test_a_pid_sd_jwt_with_nested_age_answers_direct_post(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        check = await run.start_check("wallet-pid")
        claims = await _request_object(run, check["check_id"], encrypted=False)
        assert claims["response_mode"] == "direct_post" and "jwks" not in claims["client_metadata"]
        holder = ec.generate_private_key(ec.SECP256R1())
        issuance = issue_sd_jwt(
            pki, {"age_equal_or_over": {SDObj("18"): True, SDObj("21"): False}}, holder, vct="urn:eudi:pid:1"
        )
        presentation = present_sd_jwt(
            issuance,
            holder,
            claims["nonce"],
            {"age_equal_or_over": {"18": True}},
            audience=claims["client_id"],
        )
        form = {"vp_token": json.dumps({"age_sd_jwt": [presentation]}), "state": claims["state"]}
        r = await run.http.post(_path(claims["response_uri"]), data=form)
        assert r.status_code == 200, r.text
        assert r.json() == {"outcome": "passed"}


async def test_a_response_with_another_checks_state_is_refused_and_spends_nothing(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        a, b = await run.start_check("state-a"), await run.start_check("state-b")
        ca, cb = (
            await _request_object(run, a["check_id"], False),
            await _request_object(run, b["check_id"], False),
        )
        transcript = session_transcript(ca["client_id"], ca["nonce"], ca["response_uri"])
        form = {"vp_token": json.dumps({"age_mdoc": [_mdoc(pki, transcript)]}), "state": cb["state"]}
        r = await run.http.post(_path(ca["response_uri"]), data=form)
        assert r.status_code == 400 and r.json()["code"] == "invalid_wallet_response", r.text
        view = (await run.http.get(f"/v1/checks/{a['check_id']}", headers=AUTH)).json()
        assert view["status"] == "pending" and view["methods_tried"] == []


async def test_a_response_encrypted_to_another_key_is_refused(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        a, b = await run.start_check("jwe-a"), await run.start_check("jwe-b")
        ca, cb = await _request_object(run, a["check_id"]), await _request_object(run, b["check_id"])
        response = _encrypt(cb, {"vp_token": {"age_mdoc": ["x" * 32]}, "state": ca["state"]})
        r = await run.http.post(_path(ca["response_uri"]), data={"response": response})
        assert r.status_code == 400 and r.json()["code"] == "invalid_wallet_response", r.text


async def test_request_uri_method_post_carries_the_wallet_nonce(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        check = await run.start_check("wallet-post")
        links = await _links(run, check["check_id"])
        r = await run.http.post(_path(links["request_uri"]), data={"wallet_nonce": "wn-123"})
        assert r.status_code == 200, r.text
        assert _verified_request(r.text)["wallet_nonce"] == "wn-123"


async def test_without_a_public_url_there_are_no_wallet_links(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    s = settings(tmp_path, pki)
    s.http.public_url = None
    async with running(s, at=real_now) as run:
        check = await run.start_check("no-url")
        r = await run.http.get(
            f"/v1/checks/{check['check_id']}/presentation/age_credential/wallet", headers=AUTH
        )
        assert r.status_code == 409 and r.json()["code"] == "wallet_request_unavailable", r.text


async def test_an_unsigned_instance_passes_its_request_by_value(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    s = settings(tmp_path, pki, request_signing=None, audience=f"redirect_uri:{BASE}/cb")
    async with running(s, at=real_now) as run:
        check = await run.start_check("by-value")
        links = await _links(run, check["check_id"])
        assert links["request_uri"] is None
        query = parse_qs(urlsplit(links["authorization_request"]).query)
        assert query["client_id"] == [f"redirect_uri:{BASE}/cb"]
        assert json.loads(query["dcql_query"][0])["credentials"]
        assert query["response_uri"][0].startswith(f"{BASE}/v1/wallet/age_credential/")


# --- the Digital Credentials API -------------------------------------------------------------


async def _dc_request(run: Running, check_id: str, **body: Any) -> dict[str, Any]:
    r = await run.http.post(
        f"/v1/checks/{check_id}/presentation/age_credential/dc-api",
        json={"origin": ORIGIN, **body},
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    digital: dict[str, Any] = r.json()["digital"]
    return digital


async def _dc_response(run: Running, check_id: str, protocol: str, data: dict[str, Any]) -> dict[str, Any]:
    r = await run.http.post(
        f"/v1/checks/{check_id}/presentation/age_credential/dc-api/response",
        json={"origin": ORIGIN, "protocol": protocol, "data": data},
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_an_unsigned_dc_api_request_with_an_encrypted_mdoc_response(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        check = await run.start_check("dc-unsigned")
        digital = await _dc_request(run, check["check_id"], signed=False)
        (req,) = digital["requests"]
        assert req["protocol"] == "openid4vp-v1-unsigned"
        data = req["data"]
        assert (
            data["response_mode"] == "dc_api.jwt" and "client_id" not in data and "response_uri" not in data
        )
        transcript = dc_api_transcript(ORIGIN, data["nonce"], _thumbprint(data))
        response = _encrypt(data, {"vp_token": {"age_mdoc": [_mdoc(pki, transcript)]}})
        body = await _dc_response(run, check["check_id"], req["protocol"], {"response": response})
        assert body["outcome"] == "passed", body
        assert body["token"]["band"] == "18_plus"


async def test_a_signed_dc_api_request_with_an_sd_jwt(tmp_path: Path, pki: Pki, real_now: datetime) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        check = await run.start_check("dc-signed")
        digital = await _dc_request(run, check["check_id"], encrypted=False)
        (req,) = digital["requests"]
        assert req["protocol"] == "openid4vp-v1-signed"
        claims = _verified_request(req["data"]["request"])
        assert claims["expected_origins"] == [ORIGIN] and claims["response_mode"] == "dc_api"
        holder = ec.generate_private_key(ec.SECP256R1())
        issuance = issue_sd_jwt(pki, {"age_over_18": True}, holder)
        presentation = present_sd_jwt(
            issuance, holder, claims["nonce"], {"age_over_18": True}, audience=claims["client_id"]
        )
        body = await _dc_response(
            run, check["check_id"], req["protocol"], {"vp_token": {"age_sd_jwt": [presentation]}}
        )
        assert body["outcome"] == "passed", body


async def test_a_dc_api_answer_over_a_protocol_ageband_does_not_speak_is_not_circumvention(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        check = await run.start_check("dc-iso")
        body = await _dc_response(run, check["check_id"], "org-iso-mdoc", {"response": "opaque"})
        assert (body["outcome"], body["reason"], body["sanction"]) == ("failed", "unsupported_handover", None)
        events = {e.get("event") for e in run.log_lines()}
        assert "subject.flagged" not in events


async def test_a_dc_api_mdoc_for_another_checks_nonce_is_a_binding_mismatch(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        a, b = await run.start_check("dc-a"), await run.start_check("dc-b")
        data_b = (await _dc_request(run, b["check_id"], signed=False, encrypted=False))["requests"][0]["data"]
        transcript = dc_api_transcript(ORIGIN, data_b["nonce"])
        vp = {"vp_token": {"age_mdoc": [_mdoc(pki, transcript)]}}
        body = await _dc_response(run, a["check_id"], "openid4vp-v1-unsigned", vp)
        assert (body["outcome"], body["reason"]) == ("failed", "binding_mismatch")


async def test_a_dc_api_request_for_an_origin_not_configured_is_refused(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        check = await run.start_check("dc-origin")
        r = await run.http.post(
            f"/v1/checks/{check['check_id']}/presentation/age_credential/dc-api",
            json={"origin": "https://evil.example"},
            headers=AUTH,
        )
        assert r.status_code == 400 and r.json()["code"] == "origin_not_allowed", r.text


async def test_wallet_responses_have_their_own_body_limit(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        check = await run.start_check("big")
        claims = await _request_object(run, check["check_id"], encrypted=False)
        # 100 KB: over the general 64 KiB body limit, within the wallet responses' 512 KiB.
        big = {"vp_token": json.dumps({"age_mdoc": ["A" * 100_000]}), "state": claims["state"]}
        r = await run.http.post(_path(claims["response_uri"]), data=big)
        assert r.status_code == 200 and r.json() == {"outcome": "failed"}, r.text
        huge = {"vp_token": "A" * 600_000, "state": claims["state"]}
        r = await run.http.post(_path(claims["response_uri"]), data=huge)
        assert r.status_code == 413, r.text


# --- privacy ---------------------------------------------------------------------------------

CANARY_NAME = "Canaryperson-4417"
CANARY_DATE = "1979-03-08"


async def test_what_a_wallet_discloses_beyond_age_reaches_no_log_store_or_response(
    tmp_path: Path, pki: Pki, real_now: datetime
) -> None:
    """A wallet that discloses more than asked (a name, a birth date) through direct_post.jwt and
    the DC API: none of it reaches the logs, the store or any answer."""
    async with running(settings(tmp_path, pki), at=real_now) as run:
        answers: list[str] = []
        check = await run.start_check("canary-wallet")
        claims = await _request_object(run, check["check_id"])
        transcript = session_transcript(
            claims["client_id"], claims["nonce"], claims["response_uri"], _thumbprint(claims)
        )
        extra = {"age_over_18": True, "family_name": CANARY_NAME, "birth_date": CANARY_DATE}
        response = _encrypt(
            claims, {"vp_token": {"age_mdoc": [_mdoc(pki, transcript, extra)]}, "state": claims["state"]}
        )
        r = await run.http.post(_path(claims["response_uri"]), data={"response": response})
        assert r.json() == {"outcome": "passed"}, r.text
        answers.append(r.text)
        other = await run.start_check("canary-dc")
        data = (await _dc_request(run, other["check_id"], encrypted=False))["requests"][0]["data"]
        signed = _verified_request(data["request"])
        holder = ec.generate_private_key(ec.SECP256R1())
        issuance = issue_sd_jwt(pki, {"age_over_18": True, "given_name": CANARY_NAME}, holder)
        presentation = present_sd_jwt(
            issuance, holder, signed["nonce"], {"age_over_18": True, "given_name": True},
            audience=signed["client_id"],
        )  # fmt: skip
        body = await _dc_response(
            run, other["check_id"], "openid4vp-v1-signed", {"vp_token": {"age_sd_jwt": [presentation]}}
        )
        assert body["outcome"] == "passed", body
        answers.append(json.dumps(body))
        store = run.services.store
        assert isinstance(store, MemoryStore)
        kept = [f"{k}={v!r}" for k, v in store.contents().items()]
        assert kept, "the flows stored nothing: the scan proves nothing"
        logs = run.logs.getvalue()
        for canary in (CANARY_NAME, CANARY_DATE):
            assert canary not in logs
            assert not any(canary in k for k in kept)
            assert not any(canary in a for a in answers)
