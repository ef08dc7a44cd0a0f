"""Issuer chains checked by cryptography's path validation (providers/credentials/trust.py).

Each hostile chain is made here with ``cryptography`` and signs a real presentation (mdoc and
SD-JWT VC, made by the reference libraries), so the provider refuses it end to end, each with its
stable reason: ``untrusted_issuer`` for a path that does not hold, ``credential_expired`` for one
that only ran out of time. Validity is judged at the presentation time the flow passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from credential_factory import Pki, chain_cert, key_usage, mdoc_presentation, pem, sd_jwt_presentation
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from providers.age_credential import AgeCredentialProvider
from providers.base import Failure, MethodParams, ProviderContext, Signal
from providers.credentials.errors import REASONS
from providers.credentials.trust import TrustList
from service.core.bands import Band, BandSet

pytestmark = pytest.mark.anyio

NONCE = "check-nonce-0123456789"
BANDS = BandSet([Band("under_18", 0, 17), Band("18_plus", 18, None)])
NOW = datetime.now(UTC)  # certificate windows are days wide around it
LONG_AGO, LATER = NOW - timedelta(days=30), NOW + timedelta(days=300)
UNKNOWN = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1.1"), b"\x05\x00")
Present = Callable[[Pki, dict[str, bool], str], str]
FORMATS: dict[str, Present] = {"mso_mdoc": mdoc_presentation, "dc+sd-jwt": sd_jwt_presentation}


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pki(**overrides: dict[str, Any]) -> Pki:
    """A root, an intermediate and a signer valid from a month ago, each with the profile's
    extensions; ``root=``, ``inter=`` or ``signer=`` override ``chain_cert``'s arguments."""
    keys = {name: _key() for name in ("root", "inter", "signer")}
    issuers = {"root": None, "inter": ("Chain root", keys["root"]), "signer": ("Chain inter", keys["inter"])}
    made = {
        name: chain_cert(
            f"Chain {name}",
            keys[name],
            issuers[name],
            **{"ca": name != "signer", "not_before": LONG_AGO, "not_after": LATER, **overrides.get(name, {})},
        )
        for name in keys
    }
    return Pki(made["root"], made["inter"], made["signer"], keys["signer"])


async def submit(chain: Pki, fmt: str, now: datetime | None = None) -> object:
    provider = AgeCredentialProvider("age_credential", chain.config())
    presentation = FORMATS[fmt](chain, {"age_over_18": True}, NONCE)
    # The presentation is made now, with the real time in it (an SD-JWT's iat): judge it now.
    ctx = ProviderContext(now or datetime.now(UTC), BANDS, MethodParams("age_credential"), nonce=NONCE)
    return await provider.submit({"format": fmt, "presentation": presentation}, ctx)


def refused(result: object, reason: str, *, circumvention: bool) -> None:
    assert isinstance(result, Failure), result
    assert (result.reason, result.circumvention) == (reason, circumvention)
    assert reason in REASONS


@pytest.mark.parametrize("fmt", FORMATS)
async def test_control_chain_of_the_profile_verifies(fmt: str) -> None:
    assert isinstance(await submit(pki(), fmt), Signal)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_leaf_signed_by_a_non_ca_is_untrusted(fmt: str) -> None:
    # The intermediate is an end entity (cA false) that signs a certificate anyway.
    chain = pki(inter={"ca": False, "usage": key_usage(sign=True, certs=True)})
    refused(await submit(chain, fmt), "untrusted_issuer", circumvention=True)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_path_length_violation_is_untrusted(fmt: str) -> None:
    # The root allows no intermediate CA below it (pathLenConstraint 0, as an IACA root has).
    refused(await submit(pki(root={"path_length": 0}), fmt), "untrusted_issuer", circumvention=True)


@pytest.mark.parametrize("where", ["signer", "inter"])
@pytest.mark.parametrize("fmt", FORMATS)
async def test_unknown_critical_extension_is_untrusted(fmt: str, where: str) -> None:
    chain = pki(**{where: {"extra": ((UNKNOWN, True),)}})
    refused(await submit(chain, fmt), "untrusted_issuer", circumvention=True)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_unknown_non_critical_extension_is_ignored(fmt: str) -> None:
    assert isinstance(await submit(pki(signer={"extra": ((UNKNOWN, False),)}), fmt), Signal)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_expired_intermediate_is_expired(fmt: str) -> None:
    # The signer is still valid, the CA that issued it expired yesterday.
    chain = pki(inter={"not_after": NOW - timedelta(days=1)}, signer={"not_after": LATER})
    refused(await submit(chain, fmt), "credential_expired", circumvention=False)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_expired_root_is_untrusted(fmt: str) -> None:
    # The presented chain is in date; the configured anchor is not: nothing to trust.
    chain = pki(root={"not_after": NOW - timedelta(days=1)})
    refused(await submit(chain, fmt), "untrusted_issuer", circumvention=True)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_signer_key_usage_without_digital_signature_is_untrusted(fmt: str) -> None:
    chain = pki(signer={"usage": key_usage(certs=True)})
    refused(await submit(chain, fmt), "untrusted_issuer", circumvention=True)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_ca_key_usage_without_cert_signing_is_untrusted(fmt: str) -> None:
    chain = pki(inter={"usage": key_usage(sign=True)})
    refused(await submit(chain, fmt), "untrusted_issuer", circumvention=True)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_signer_that_is_a_ca_is_untrusted(fmt: str) -> None:
    chain = pki(signer={"ca": True})
    refused(await submit(chain, fmt), "untrusted_issuer", circumvention=True)


async def test_validity_is_judged_at_the_presentation_time() -> None:
    # A signer certificate that starts in ten days: refused now, accepted at a presentation then.
    chain = pki(signer={"not_before": NOW + timedelta(days=10)})
    later = NOW + timedelta(days=11)
    issued = {"issued": NOW + timedelta(days=10), "expires": NOW + timedelta(days=90)}
    presentation = mdoc_presentation(chain, {"age_over_18": True}, NONCE, **issued)
    provider = AgeCredentialProvider("age_credential", chain.config())
    for now, expected in ((NOW, Failure), (later, Signal)):
        ctx = ProviderContext(now, BANDS, MethodParams("age_credential"), nonce=NONCE)
        result = await provider.submit({"format": "mso_mdoc", "presentation": presentation}, ctx)
        assert isinstance(result, expected), result
        if isinstance(result, Failure):
            assert result.reason == "credential_expired"


def test_chain_longer_than_four_certificates_is_malformed() -> None:
    chain = pki()
    trust = TrustList.from_pem([pem(chain.root).encode()])
    with pytest.raises(Exception, match="malformed_presentation"):
        trust.verify_chain([chain.signer, chain.intermediate] * 3, NOW)
