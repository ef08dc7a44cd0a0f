"""Nested selective disclosure (RFC 9901 §4.2.6, §7.1): the EU PID profile's
``age_equal_or_over`` object, itself disclosable, with ``18`` disclosed inside it. The
credentials are issued and presented by the reference SD-JWT library in the nested form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from credential_factory import AUDIENCE, RESPONSE_URI, Pki, issue_sd_jwt, present_sd_jwt
from cryptography.hazmat.primitives.asymmetric import ec
from sd_jwt.common import SDObj

from providers.credentials.binding import Binding
from providers.credentials.errors import Rejected
from providers.credentials.sdjwt import verify_sd_jwt
from service.core.intervals import AgeInterval

PID = "urn:eudi:pid:1"
NONCE = "n-0123456789abcdef"


def _verify(pki: Pki, presentation: str) -> AgeInterval:
    binding = Binding((AUDIENCE,), NONCE, RESPONSE_URI)
    interval, _ = verify_sd_jwt(presentation, pki.trust, binding, datetime.now(UTC), frozenset({PID}))
    return interval


@pytest.fixture(scope="module")
def pki_trust() -> Pki:
    return Pki.make("Nested PID")


def _nested(pki: Pki, disclose: dict[str, object], claims: dict[object, object] | None = None) -> str:
    holder = ec.generate_private_key(ec.SECP256R1())
    ages = claims or {SDObj("18"): True, SDObj("21"): False, SDObj("65"): False}
    issuance = issue_sd_jwt(pki, {"age_equal_or_over": ages, "given_name": "Erika"}, holder, vct=PID)
    return present_sd_jwt(issuance, holder, NONCE, disclose)


def test_nested_age_equal_or_over_18_passes(pki_trust: Pki) -> None:
    presentation = _nested(pki_trust, {"age_equal_or_over": {"18": True}})
    assert _verify(pki_trust, presentation) == AgeInterval(18, None)


def test_nested_claims_intersect(pki_trust: Pki) -> None:
    presentation = _nested(pki_trust, {"age_equal_or_over": {"18": True, "21": True}})
    assert _verify(pki_trust, presentation) == AgeInterval(18, 20)


def test_only_the_disclosed_inner_claims_count(pki_trust: Pki) -> None:
    presentation = _nested(pki_trust, {"age_equal_or_over": {"65": True}})
    assert _verify(pki_trust, presentation) == AgeInterval(0, 64)


def test_the_object_undisclosed_is_age_claim_missing_not_tampering(pki_trust: Pki) -> None:
    presentation = _nested(pki_trust, {"given_name": True})
    with pytest.raises(Rejected) as err:
        _verify(pki_trust, presentation)
    assert err.value.reason == "age_claim_missing"


def test_a_nested_disclosure_moved_to_another_credential_is_tampering(pki_trust: Pki) -> None:
    ours = _nested(pki_trust, {"age_equal_or_over": {"18": True}})
    theirs = _nested(pki_trust, {"age_equal_or_over": {"18": True}})
    # Splice the other credential's inner disclosure in: no digest of ours references it.
    parts, other = ours.split("~"), theirs.split("~")
    inner = [d for d in other[1:-1] if d not in ours]
    spliced = "~".join([parts[0], *parts[1:-1], inner[-1], parts[-1]])
    with pytest.raises(Rejected) as err:
        verify_sd_jwt(
            spliced, pki_trust.trust, Binding((AUDIENCE,), NONCE, RESPONSE_URI), datetime.now(UTC),
            frozenset({PID}),
        )  # fmt: skip
    assert err.value.reason == "credential_tampered"
