"""age_credential against credentials made by the reference libraries (pymdoccbor, sd-jwt)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import pytest
from credential_factory import (
    AUDIENCE,
    Pki,
    b64url,
    issue_mdoc,
    issue_sd_jwt,
    mdoc_presentation,
    pem,
    present_mdoc,
    present_sd_jwt,
    sd_jwt_presentation,
)
from cryptography.hazmat.primitives.asymmetric import ec

from providers.age_credential import AgeCredentialProvider
from providers.base import Failure, MethodParams, ProviderContext, Signal
from service.core.bands import Band, BandSet
from service.core.intervals import AgeInterval

pytestmark = pytest.mark.anyio

NONCE = "check-nonce-0123456789"
BANDS = BandSet(
    [Band("under_13", 0, 12), Band("13_15", 13, 15), Band("16_17", 16, 17), Band("18_plus", 18, None)]
)


def ctx(nonce: str | None = NONCE, now: datetime | None = None) -> ProviderContext:
    return ProviderContext(
        now=now or datetime.now(UTC), bands=BANDS, method=MethodParams("age_credential"), nonce=nonce
    )


def provider(pki: Pki, **config: Any) -> AgeCredentialProvider:
    return AgeCredentialProvider("age_credential", pki.config(**config))


async def outcome(
    p: AgeCredentialProvider, fmt: str, presentation: str, c: ProviderContext | None = None
) -> Any:
    return await p.submit({"format": fmt, "presentation": presentation}, c or ctx())


def failed(result: object, reason: str) -> bool:
    return isinstance(result, Failure) and result.reason == reason


# --- what verifies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "interval"),
    [
        ({"age_over_18": True}, AgeInterval(18, None)),
        ({"age_over_18": True, "age_over_21": False}, AgeInterval(18, 20)),
        ({"age_over_18": False, "age_over_16": True}, AgeInterval(16, 17)),
        ({"age_over_18": False, "age_over_13": False}, AgeInterval(0, 12)),
    ],
)
async def test_mdoc_age_over_claims_become_an_interval(
    pki: Pki, claims: dict[str, bool], interval: AgeInterval
) -> None:
    result = await outcome(provider(pki), "mso_mdoc", mdoc_presentation(pki, claims, NONCE))
    assert isinstance(result, Signal), result
    assert result.interval == interval
    assert result.qualifier == "mdoc"
    assert result.attributes == ("age_over",)
    assert result.replay_key is not None and len(result.replay_key) == 64


@pytest.mark.parametrize(
    ("claims", "interval"),
    [
        ({"age_over_18": True}, AgeInterval(18, None)),
        ({"age_over_21": True}, AgeInterval(21, None)),  # implied: over 21 proves 18+
        ({"age_over_16": False}, AgeInterval(0, 15)),  # false bounds the age above
        ({"age_over_16": True, "age_over_18": False}, AgeInterval(16, 17)),
    ],
)
async def test_sd_jwt_age_over_claims_become_an_interval(
    pki: Pki, claims: dict[str, bool], interval: AgeInterval
) -> None:
    result = await outcome(provider(pki), "dc+sd-jwt", sd_jwt_presentation(pki, claims, NONCE))
    assert isinstance(result, Signal), result
    assert result.interval == interval
    assert result.qualifier == "sd_jwt"
    assert interval.within(AgeInterval(18, None)) == (interval.lo >= 18)


async def test_age_over_21_alone_resolves_to_the_adult_band(pki: Pki) -> None:
    result = await outcome(provider(pki), "dc+sd-jwt", sd_jwt_presentation(pki, {"age_over_21": True}, NONCE))
    assert isinstance(result, Signal)
    assert result.interval.within(BANDS.get("18_plus").interval)


async def test_claims_in_clear_count_too(pki: Pki) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    issuance = issue_sd_jwt(pki, {"age_over_18": True}, holder, clear=("age_over_18",))
    result = await outcome(provider(pki), "dc+sd-jwt", present_sd_jwt(issuance, holder, NONCE))
    assert isinstance(result, Signal) and result.interval == AgeInterval(18, None)


async def test_legacy_vc_sd_jwt_type_is_accepted(pki: Pki) -> None:
    presentation = sd_jwt_presentation(pki, {"age_over_18": True}, NONCE, typ="vc+sd-jwt")
    assert isinstance(await outcome(provider(pki), "dc+sd-jwt", presentation), Signal)


async def test_a_trust_anchor_can_be_a_pem_file(pki: Pki, tmp_path: Any) -> None:
    anchor = tmp_path / "root.pem"
    anchor.write_text(pem(pki.root))
    p = provider(pki, trust_anchors=[str(anchor)])
    assert isinstance(
        await outcome(p, "mso_mdoc", mdoc_presentation(pki, {"age_over_18": True}, NONCE)), Signal
    )


# --- trust and validity ---------------------------------------------------------------------------


async def test_untrusted_issuer_is_rejected(pki: Pki) -> None:
    rogue = Pki.make("Rogue")
    p = provider(pki)
    r1 = await outcome(p, "mso_mdoc", mdoc_presentation(rogue, {"age_over_18": True}, NONCE))
    r2 = await outcome(p, "dc+sd-jwt", sd_jwt_presentation(rogue, {"age_over_18": True}, NONCE))
    assert failed(r1, "untrusted_issuer") and failed(r2, "untrusted_issuer")
    assert isinstance(r1, Failure) and r1.circumvention


async def test_an_intermediate_is_not_an_anchor_unless_configured(pki: Pki) -> None:
    other = Pki.make("Other")
    p = AgeCredentialProvider("age_credential", other.config(trust_anchors=[pem(other.root), pem(pki.root)]))
    assert isinstance(
        await outcome(p, "mso_mdoc", mdoc_presentation(pki, {"age_over_18": True}, NONCE)), Signal
    )


async def test_expired_mdoc_is_rejected(pki: Pki) -> None:
    presentation = mdoc_presentation(
        pki, {"age_over_18": True}, NONCE, expires=datetime.now(UTC) + timedelta(days=2)
    )
    later = datetime.now(UTC) + timedelta(days=5)
    assert failed(
        await outcome(provider(pki), "mso_mdoc", presentation, ctx(now=later)), "credential_expired"
    )


async def test_mdoc_not_yet_valid_is_rejected(pki: Pki) -> None:
    presentation = mdoc_presentation(pki, {"age_over_18": True}, NONCE)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    assert failed(
        await outcome(provider(pki), "mso_mdoc", presentation, ctx(now=earlier)), "credential_expired"
    )


async def test_expired_sd_jwt_is_rejected(pki: Pki) -> None:
    presentation = sd_jwt_presentation(
        pki, {"age_over_18": True}, NONCE, exp=datetime.now(UTC) - timedelta(minutes=5)
    )
    assert failed(await outcome(provider(pki), "dc+sd-jwt", presentation), "credential_expired")


async def test_expired_signer_certificate_is_rejected(pki: Pki) -> None:
    short = Pki.make("Short", signer_days=2)
    p = AgeCredentialProvider("age_credential", short.config())
    presentation = sd_jwt_presentation(
        short, {"age_over_18": True}, NONCE, exp=datetime.now(UTC) + timedelta(days=9)
    )
    # The key-binding JWT is fresh, but the signer's certificate has expired by then.
    c = ctx(now=datetime.now(UTC) + timedelta(days=3))
    result = await outcome(p, "dc+sd-jwt", presentation, c)
    assert failed(result, "credential_expired")


async def test_stale_key_binding_is_rejected(pki: Pki) -> None:
    presentation = sd_jwt_presentation(pki, {"age_over_18": True}, NONCE)
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert failed(await outcome(provider(pki), "dc+sd-jwt", presentation, ctx(now=later)), "binding_mismatch")


# --- tampering ----------------------------------------------------------------------------------


def _decode_mdoc(presentation: str) -> Any:
    return cbor2.loads(base64.urlsafe_b64decode(presentation + "=" * (-len(presentation) % 4)))


async def test_tampered_mdoc_element_fails_its_digest(pki: Pki) -> None:
    device = ec.generate_private_key(ec.SECP256R1())
    signed = issue_mdoc(pki, {"age_over_18": False}, device)
    items = signed["documents"][0]["issuerSigned"]["nameSpaces"]["eu.europa.ec.av.1"]
    item = cbor2.loads(items[0].value)
    item["elementValue"] = True  # claim to be an adult
    items[0] = cbor2.CBORTag(24, cbor2.dumps(item))
    result = await outcome(provider(pki), "mso_mdoc", present_mdoc(signed, device, NONCE))
    assert failed(result, "credential_tampered")


async def test_tampered_mso_fails_the_issuer_signature(pki: Pki) -> None:
    device = ec.generate_private_key(ec.SECP256R1())
    signed = issue_mdoc(pki, {"age_over_18": True}, device)
    auth = signed["documents"][0]["issuerSigned"]["issuerAuth"]
    payload = bytearray(auth[2])
    payload[-1] ^= 1
    auth[2] = bytes(payload)
    result = await outcome(provider(pki), "mso_mdoc", present_mdoc(signed, device, NONCE))
    assert isinstance(result, Failure) and result.reason in {"invalid_signature", "malformed_presentation"}


async def test_forged_sd_jwt_disclosure_is_rejected(pki: Pki) -> None:
    presentation = sd_jwt_presentation(pki, {"age_over_18": False}, NONCE)
    parts = presentation.split("~")
    forged = b64url(json.dumps(["salt-salt-salt", "age_over_18", True]).encode())
    parts[1] = forged
    result = await outcome(provider(pki), "dc+sd-jwt", "~".join(parts))
    assert failed(result, "credential_tampered")


async def test_dropped_disclosure_breaks_the_key_binding_hash(pki: Pki) -> None:
    presentation = sd_jwt_presentation(pki, {"age_over_18": True, "age_over_21": False}, NONCE)
    parts = presentation.split("~")
    del parts[2]  # hide the age_over_21: false (or the other) after the holder signed
    assert failed(await outcome(provider(pki), "dc+sd-jwt", "~".join(parts)), "credential_tampered")


async def test_sd_jwt_issuer_signature_is_checked(pki: Pki) -> None:
    presentation = sd_jwt_presentation(pki, {"age_over_18": True}, NONCE)
    jwt, rest = presentation.split("~", 1)
    head, payload, sig = jwt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["age_over_18"] = True
    forged = ".".join([head, b64url(json.dumps(claims).encode()), sig])
    assert failed(await outcome(provider(pki), "dc+sd-jwt", f"{forged}~{rest}"), "invalid_signature")


async def test_sd_jwt_alg_none_is_rejected(pki: Pki) -> None:
    presentation = sd_jwt_presentation(pki, {"age_over_18": True}, NONCE)
    jwt, rest = presentation.split("~", 1)
    head, payload, _ = jwt.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    header["alg"] = "none"
    forged = ".".join([b64url(json.dumps(header).encode()), payload, ""])
    assert failed(await outcome(provider(pki), "dc+sd-jwt", f"{forged}~{rest}"), "invalid_signature")


# --- binding to the check -----------------------------------------------------------------------


async def test_wrong_nonce_is_rejected(pki: Pki) -> None:
    p = provider(pki)
    r1 = await outcome(p, "mso_mdoc", mdoc_presentation(pki, {"age_over_18": True}, "another-check-nonce"))
    r2 = await outcome(p, "dc+sd-jwt", sd_jwt_presentation(pki, {"age_over_18": True}, "another-check-nonce"))
    assert failed(r1, "binding_mismatch") and failed(r2, "binding_mismatch")


async def test_wrong_audience_is_rejected(pki: Pki) -> None:
    p = provider(pki, audience="x509_san_dns:someone-else.test")
    r1 = await outcome(p, "mso_mdoc", mdoc_presentation(pki, {"age_over_18": True}, NONCE))
    r2 = await outcome(p, "dc+sd-jwt", sd_jwt_presentation(pki, {"age_over_18": True}, NONCE))
    assert failed(r1, "binding_mismatch") and failed(r2, "binding_mismatch")


async def test_sd_jwt_without_key_binding_is_rejected(pki: Pki) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    issuance = issue_sd_jwt(pki, {"age_over_18": True}, holder)
    assert failed(await outcome(provider(pki), "dc+sd-jwt", issuance), "binding_mismatch")


async def test_without_a_nonce_nothing_verifies(pki: Pki) -> None:
    presentation = mdoc_presentation(pki, {"age_over_18": True}, NONCE)
    assert failed(await outcome(provider(pki), "mso_mdoc", presentation, ctx(nonce=None)), "binding_mismatch")


# --- claims ------------------------------------------------------------------------------------


async def test_undisclosed_claim_is_missing(pki: Pki) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    issuance = issue_sd_jwt(pki, {"age_over_18": True}, holder)
    presentation = present_sd_jwt(issuance, holder, NONCE, {})  # discloses nothing
    assert failed(await outcome(provider(pki), "dc+sd-jwt", presentation), "age_claim_missing")


async def test_mdoc_without_age_over_18_is_missing_its_mandatory_claim(pki: Pki) -> None:
    presentation = mdoc_presentation(pki, {"age_over_21": True}, NONCE)
    assert failed(await outcome(provider(pki), "mso_mdoc", presentation), "age_claim_missing")


async def test_contradicting_claims_are_rejected(pki: Pki) -> None:
    presentation = sd_jwt_presentation(pki, {"age_over_21": True, "age_over_18": False}, NONCE)
    assert failed(await outcome(provider(pki), "dc+sd-jwt", presentation), "age_claims_inconsistent")


async def test_claim_that_is_not_a_boolean_is_malformed(pki: Pki) -> None:
    presentation = sd_jwt_presentation(pki, {"age_over_18": "yes"}, NONCE)
    assert failed(await outcome(provider(pki), "dc+sd-jwt", presentation), "malformed_presentation")


async def test_wrong_credential_type_is_rejected(pki: Pki) -> None:
    p = provider(pki)
    r1 = await outcome(
        p, "mso_mdoc", mdoc_presentation(pki, {"age_over_18": True}, NONCE, doc_type="org.iso.18013.5.1.mDL")
    )
    r2 = await outcome(
        p, "dc+sd-jwt", sd_jwt_presentation(pki, {"age_over_18": True}, NONCE, vct="urn:other")
    )
    assert failed(r1, "wrong_credential_type") and failed(r2, "wrong_credential_type")


# --- configuration -------------------------------------------------------------------------------


async def test_formats_are_configurable(pki: Pki) -> None:
    p = provider(pki, formats=["dc+sd-jwt"])
    presentation = mdoc_presentation(pki, {"age_over_18": True}, NONCE)
    assert failed(await outcome(p, "mso_mdoc", presentation), "format_not_accepted")
    assert p.presentation_request("n")["formats"] == ["dc+sd-jwt"]


def test_presentation_request_names_audience_nonce_and_query(pki: Pki) -> None:
    req = provider(pki).presentation_request("the-nonce")
    assert req["client_id"] == AUDIENCE and req["nonce"] == "the-nonce"
    ids = [c["id"] for c in req["dcql_query"]["credentials"]]
    assert ids == ["age_mdoc", "age_sd_jwt"]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"audience": AUDIENCE},
        {"audience": AUDIENCE, "trust_anchors": []},
        {
            "audience": AUDIENCE,
            "trust_anchors": ["-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"],
        },
        {"audience": AUDIENCE, "trust_anchors": ["/nonexistent/anchor.pem"]},
        {"audience": AUDIENCE, "trust_anchors": ["x"], "formats": ["jwt_vc"]},
    ],
)
def test_bad_configuration_stops_start_up(config: dict[str, Any]) -> None:
    with pytest.raises((ValueError, OSError)):
        AgeCredentialProvider("age_credential", config)


def test_a_leaf_certificate_cannot_be_an_anchor(pki: Pki) -> None:
    with pytest.raises(ValueError, match="CA"):
        AgeCredentialProvider("age_credential", pki.config(trust_anchors=[pem(pki.signer)]))
