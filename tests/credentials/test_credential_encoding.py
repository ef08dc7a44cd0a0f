"""Presentations have one spelling: a respelled credential is malformed, never a new one.

A presentation's SHA-256 is its single-use marker, so a second spelling of the same bytes
(base64 padding, the standard alphabet's ``+`` or ``/``, a last character with non-zero
dropped bits) would pass as a fresh presentation. Each form is refused as
``malformed_presentation``, on the mdoc and on every part of an SD-JWT VC presentation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from credential_factory import Pki, mdoc_presentation, sd_jwt_presentation

from providers.age_credential import AgeCredentialProvider
from providers.base import Failure, MethodParams, ProviderContext, Signal
from service.core.bands import Band, BandSet

pytestmark = pytest.mark.anyio

NONCE = "check-nonce-0123456789"
BANDS = BandSet([Band("under_18", 0, 17), Band("18_plus", 18, None)])
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def padded(segment: str) -> str:
    return segment + ("=" * (-len(segment) % 4) or "=")


def plus(segment: str) -> str:
    return segment.replace("-", "+", 1) if "-" in segment else "+" + segment[1:]


def slash(segment: str) -> str:
    return segment.replace("_", "/", 1) if "_" in segment else "/" + segment[1:]


def dropped_bits(segment: str) -> str:
    if len(segment) % 4 == 0:  # no dropped bits: a lone extra character is never canonical either
        return segment + "A"
    return segment[:-1] + ALPHABET[ALPHABET.index(segment[-1]) + 1]


FORMS: dict[str, Callable[[str], str]] = {
    "padding": padded,
    "plus": plus,
    "slash": slash,
    "trailing_bits": dropped_bits,
}


def in_jwt_segment(respell: Callable[[str], str], index: int) -> Callable[[str], str]:
    def apply(jwt: str) -> str:
        parts = jwt.split(".")
        parts[index] = respell(parts[index])
        return ".".join(parts)

    return apply


async def submit(pki: Pki, fmt: str, presentation: str) -> object:
    provider = AgeCredentialProvider("age_credential", pki.config())
    ctx = ProviderContext(datetime.now(UTC), BANDS, MethodParams("age_credential"), nonce=NONCE)
    return await provider.submit({"format": fmt, "presentation": presentation}, ctx)


def malformed(result: object) -> bool:
    return isinstance(result, Failure) and result.reason == "malformed_presentation"


@pytest.mark.parametrize("form", FORMS)
async def test_respelled_mdoc_is_malformed(pki: Pki, form: str) -> None:
    genuine = mdoc_presentation(pki, {"age_over_18": True}, NONCE)
    assert isinstance(await submit(pki, "mso_mdoc", genuine), Signal)
    assert malformed(await submit(pki, "mso_mdoc", FORMS[form](genuine)))


# Where a respelling goes in ``issuer-jwt~disclosure~...~kb-jwt``: a JWT's segment or a disclosure.
PARTS = {
    "issuer_jwt_header": (0, 0),
    "issuer_jwt_payload": (0, 1),
    "issuer_jwt_signature": (0, 2),
    "disclosure": (1, None),
    "key_binding_jwt_header": (-1, 0),
    "key_binding_jwt_payload": (-1, 1),
    "key_binding_jwt_signature": (-1, 2),
}


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("form", FORMS)
async def test_respelled_sd_jwt_part_is_malformed(pki: Pki, form: str, part: str) -> None:
    genuine = sd_jwt_presentation(pki, {"age_over_18": True}, NONCE)
    assert isinstance(await submit(pki, "dc+sd-jwt", genuine), Signal)
    parts = genuine.split("~")
    where, segment = PARTS[part]
    respell = FORMS[form] if segment is None else in_jwt_segment(FORMS[form], segment)
    parts[where] = respell(parts[where])
    assert malformed(await submit(pki, "dc+sd-jwt", "~".join(parts)))
