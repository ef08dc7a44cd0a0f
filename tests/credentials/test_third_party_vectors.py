"""Public third-party presentations through the age_credential verifier.

- The EU reference verifier's encrypted mDL presentation (``08-mdl-vpToken.json``): a
  ``direct_post.jwt`` response, so its SessionTranscript carries the thumbprint of the verifier's
  ephemeral key. It goes through the provider's real wallet-response path with the values the
  EU verifier's own test uses (client id, response URI, nonce, key, and its clock: the MSO is
  valid for five days of December 2025, so it is verified at that time through the clock, never
  by skipping the validity check).
- google/longfellow-zk's mdoc examples that disclose ``age_over_18``, among them
  ``eu.europa.ec.av.1`` credentials: each comes with its SessionTranscript and its time. Their
  IACAs are not published with the examples: the tests pin the document signer key the file
  states (``issuer_keys``), as an operator would for such an issuer.

Sources, commits and licences: ``vectors/README.md``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from providers.age_credential import AgeCredentialProvider
from providers.base import Failure, MethodParams, ProviderContext, Signal, WalletChannel
from providers.credentials.errors import CREDENTIAL_EXPIRED, Rejected
from providers.credentials.mdoc import verify_mdoc_over
from providers.credentials.trust import TrustList
from service.core import base64url
from service.core.bands import Band, BandSet
from service.core.intervals import AgeInterval

pytestmark = pytest.mark.anyio

VECTORS = Path(__file__).parent / "vectors"
EU = json.loads((VECTORS / "eudiw_verifier_08_mdl.json").read_text())
EU_CA = (VECTORS / "eudiw_pid_issuer_ca_ut_02.pem").read_text()
LONGFELLOW = json.loads((VECTORS / "longfellow_mdoc_examples.json").read_text())["vectors"]
MDL = "org.iso.18013.5.1.mDL"
BANDS = BandSet([Band("under_18", 0, 17), Band("18_plus", 18, None)])


def _eu_provider(**overrides: Any) -> AgeCredentialProvider:
    config = {
        "audience": EU["client_id"],
        "response_uri": EU["response_uri"],
        "trust_anchors": [EU_CA],
        "formats": ["mso_mdoc"],
        "doc_type": MDL,
        "namespace": "org.iso.18013.5.1",
        **overrides,
    }
    return AgeCredentialProvider("age_credential", config)


def _ctx(at: datetime, nonce: str) -> ProviderContext:
    return ProviderContext(at, BANDS, MethodParams("age_credential"), nonce=nonce)


EU_NOW = datetime.fromtimestamp(EU["now_epoch"], UTC)
EU_THUMBPRINT = base64url.decode(ECKey.import_key(EU["ephemeral_encryption_key_public"]).thumbprint())
EU_CHANNEL = WalletChannel(response_uri=EU["response_uri"], thumbprint=EU_THUMBPRINT)


def _vp_token() -> dict[str, Any]:
    vp: dict[str, Any] = json.loads(json.dumps(EU["vp_token"]))
    return vp


async def test_the_eu_verifiers_encrypted_mdl_presentation_verifies() -> None:
    presentation = EU["vp_token"]["query_0"][0]
    assert len(presentation) > 32 * 1024  # over the old 32 KiB cap: the per-method cap admits it
    outcome = await _eu_provider().submit_response(_vp_token(), _ctx(EU_NOW, EU["nonce"]), EU_CHANNEL)
    assert isinstance(outcome, Signal), outcome
    assert outcome.interval.lo == 21  # age_over_18 and age_over_21 are both true


async def test_a_redirect_handover_over_the_dc_api_is_an_unsupported_handover_not_circumvention() -> None:
    # The same encrypted response as if it had come through the Digital Credentials API, whose
    # transcript is origin-based: the wallet signed the redirect handover for this very check.
    # A genuine presentation made the wrong way is an interop fault, not the user's doing.
    dc_api = WalletChannel(origin="https://app.example", thumbprint=EU_THUMBPRINT)
    provider = _eu_provider(origins=["https://app.example"])
    outcome = await provider.submit_response(_vp_token(), _ctx(EU_NOW, EU["nonce"]), dc_api)
    assert outcome == Failure("unsupported_handover", circumvention=False)


async def test_the_same_response_unencrypted_is_a_binding_mismatch() -> None:
    # Without the key's thumbprint the transcript is another one: nothing ties it to this check.
    plain = WalletChannel(response_uri=EU["response_uri"])
    outcome = await _eu_provider().submit_response(_vp_token(), _ctx(EU_NOW, EU["nonce"]), plain)
    assert outcome == Failure("binding_mismatch", circumvention=True)


async def test_a_client_id_variant_that_is_off_is_an_unsupported_handover() -> None:
    # This instance accepts only what the EU wallet signs (redirect_uri:<response_uri>); the
    # vector signs the client id itself, which ageband recognises but this instance has off.
    provider = _eu_provider(client_id_variants=["redirect_uri"])
    outcome = await provider.submit_response(_vp_token(), _ctx(EU_NOW, EU["nonce"]), EU_CHANNEL)
    assert outcome == Failure("unsupported_handover", circumvention=False)


async def test_another_checks_nonce_is_still_a_binding_mismatch() -> None:
    outcome = await _eu_provider().submit_response(_vp_token(), _ctx(EU_NOW, "another-check"), EU_CHANNEL)
    assert outcome == Failure("binding_mismatch", circumvention=True)


async def test_after_its_validity_the_eu_vector_is_expired() -> None:
    later = EU_NOW + timedelta(days=6)  # the MSO is valid until 2025-12-24
    outcome = await _eu_provider().submit_response(_vp_token(), _ctx(later, EU["nonce"]), EU_CHANNEL)
    assert outcome == Failure("credential_expired", circumvention=False)


async def test_the_old_32_kib_cap_as_an_instances_own_refuses_it_as_invalid_evidence() -> None:
    from service.core.errors import InvalidEvidence

    provider = _eu_provider(max_presentation_bytes=32 * 1024)
    with pytest.raises(InvalidEvidence):
        await provider.submit_response(_vp_token(), _ctx(EU_NOW, EU["nonce"]), EU_CHANNEL)


def _pinned(vector: dict[str, Any]) -> TrustList:
    x, y = int(vector["issuer_pk_x"], 16), int(vector["issuer_pk_y"], 16)
    key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return TrustList.from_pem([], [pem])


def _doc_type(raw: bytes) -> tuple[str, str]:
    doc_type = cbor2.loads(raw)["documents"][0]["docType"]
    return doc_type, "org.iso.18013.5.1" if doc_type == MDL else doc_type


def _at(vector: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(vector["now"].replace("Z", "+00:00"))


# Example 6 discloses age_over_18 = false (a minor's mDL). Example 11's document signer
# certificate expired on 2025-09-17, before its MSO was signed (2025-11-06): a conforming ISO
# 18013-5 verifier refuses it as well (the example serves a circuit that does not read the
# certificate).
UNDER_18 = {6}
SIGNER_EXPIRED = {11}


@pytest.mark.parametrize("vector", LONGFELLOW, ids=lambda v: f"longfellow-{v['index']}")
def test_longfellow_examples_verify_at_their_own_time(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["mdoc"])
    transcript = cbor2.loads(bytes.fromhex(vector["transcript"]))
    doc_type, namespace = _doc_type(raw)
    at = _at(vector)
    if vector["index"] in SIGNER_EXPIRED:
        with pytest.raises(Rejected) as err:
            verify_mdoc_over(raw, _pinned(vector), [transcript], [], at, doc_type, namespace)
        assert err.value.reason == CREDENTIAL_EXPIRED
        return
    interval, _ = verify_mdoc_over(raw, _pinned(vector), [transcript], [], at, doc_type, namespace)
    if vector["index"] in UNDER_18:
        assert interval == AgeInterval(0, 17)
    else:
        assert interval.lo is not None and interval.lo >= 18


AV_VECTORS = [
    v
    for v in LONGFELLOW
    if _doc_type(bytes.fromhex(v["mdoc"]))[0] == "eu.europa.ec.av.1" and v["index"] not in SIGNER_EXPIRED
]


def test_the_longfellow_examples_include_eu_age_verification_credentials() -> None:
    assert len(AV_VECTORS) >= 10


@pytest.mark.parametrize("vector", AV_VECTORS[:2], ids=lambda v: f"longfellow-{v['index']}")
def test_a_longfellow_example_over_another_transcript_is_a_binding_mismatch(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["mdoc"])
    other = [None, None, ["OpenID4VPHandover", b"\x00" * 32]]
    with pytest.raises(Rejected) as err:
        verify_mdoc_over(raw, _pinned(vector), [other], [], _at(vector), "eu.europa.ec.av.1")
    assert err.value.reason == "binding_mismatch"


def test_a_longfellow_example_years_later_is_expired_not_untrusted() -> None:
    vector = AV_VECTORS[0]
    raw = bytes.fromhex(vector["mdoc"])
    transcript = cbor2.loads(bytes.fromhex(vector["transcript"]))
    later = _at(vector) + timedelta(days=3 * 365)
    with pytest.raises(Rejected) as err:
        verify_mdoc_over(raw, _pinned(vector), [transcript], [], later, "eu.europa.ec.av.1")
    assert err.value.reason == CREDENTIAL_EXPIRED
