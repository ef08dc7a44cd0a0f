"""The signer: header, claims, times from the clock, an independently checkable signature."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from tokens_forge import CLIENT, ISSUER, NOW_TS, unb64

from service.core.clock import FixedClock
from service.tokens import (
    CLAIM_NAMES,
    TOKEN_TYPE,
    KeyRing,
    KeyState,
    SigningKey,
    TokenClaims,
    TokenSigner,
    generate_key,
)

ARGS: dict[str, Any] = {
    "client_id": CLIENT,
    "sid": "sid_" + "B" * 43,
    "band": "13-15",
    "level": "basic",
    "method": "os_signal",
    "jurisdiction": "EU",
    "policy_version": "2025-03",
    "recheck_at": NOW_TS + 86400,
}


def segments(token: str) -> tuple[Any, bytes, bytes]:
    header, payload, signature = token.split(".")
    return json.loads(unb64(header)), unb64(payload), unb64(signature)


def check_signature(key: SigningKey, token: str) -> None:
    """Verify with cryptography directly, so the signer is not checked by its own library."""
    signing_input = token.rsplit(".", 1)[0].encode()
    signature = segments(token)[2]
    public = key.key.public_key
    if isinstance(public, Ed25519PublicKey):
        public.verify(signature, signing_input)
    else:
        assert isinstance(public, EllipticCurvePublicKey)
        assert len(signature) == 64
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        public.verify(der, signing_input, ECDSA(SHA256()))


def test_header_is_exactly_alg_typ_kid(signer: TokenSigner, active_key: SigningKey) -> None:
    token, _ = signer.issue(**ARGS)
    header, _, _ = segments(token)
    assert header == {"alg": active_key.alg, "typ": TOKEN_TYPE, "kid": active_key.kid}
    assert signer.kid == active_key.kid


def test_claims_are_exactly_the_thirteen(signer: TokenSigner) -> None:
    token, claims = signer.issue(**ARGS)
    payload = json.loads(segments(token)[1])
    assert tuple(payload) == CLAIM_NAMES
    assert payload == claims.to_payload()
    assert claims == TokenClaims(
        iss=ISSUER,
        aud=CLIENT,
        sub=ARGS["sid"],
        iat=NOW_TS,
        exp=NOW_TS + 300,
        jti=claims.jti,
        age_band="13-15",
        level="basic",
        upper_level=None,
        method="os_signal",
        jur="EU",
        pol="2025-03",
        recheck_at=NOW_TS + 86400,
    )


def test_eddsa_signature_is_the_reference_libraries_own(clock: FixedClock) -> None:
    """Ed25519 is deterministic: the signer's signature (libsodium) must be byte for byte the
    one cryptography (OpenSSL) makes with the same key over the same signing input."""
    key = generate_key("EdDSA", state=KeyState.active)
    token, _ = TokenSigner(KeyRing([key]), ISSUER, clock=clock).issue(**ARGS)
    signing_input = token.rsplit(".", 1)[0].encode()
    private = key.key.get_op_key("sign")
    assert isinstance(private, Ed25519PrivateKey)
    assert segments(token)[2] == private.sign(signing_input)


def test_signature_verifies_independently(signer: TokenSigner, active_key: SigningKey) -> None:
    token, _ = signer.issue(**ARGS)
    check_signature(active_key, token)


def test_signs_with_the_active_key_only(clock: FixedClock) -> None:
    active = generate_key("ES256", state=KeyState.active)
    ring = KeyRing([generate_key(state=KeyState.next), active, generate_key(state=KeyState.retired)])
    token, _ = TokenSigner(ring, ISSUER, clock=clock).issue(**ARGS)
    assert segments(token)[0]["kid"] == active.kid
    check_signature(active, token)


def test_times_come_from_the_clock(ring: KeyRing, clock: FixedClock) -> None:
    signer = TokenSigner(ring, ISSUER, lifetime=timedelta(minutes=2), clock=clock)
    _, first = signer.issue(**ARGS)
    clock.advance(timedelta(seconds=90))
    _, second = signer.issue(**ARGS)
    assert (first.iat, first.exp) == (NOW_TS, NOW_TS + 120)
    assert (second.iat, second.exp) == (NOW_TS + 90, NOW_TS + 210)


def test_jti_is_fresh_and_128_bits(signer: TokenSigner) -> None:
    jtis = {signer.issue(**ARGS)[1].jti for _ in range(200)}
    assert len(jtis) == 200
    assert all(len(unb64(j)) == 16 for j in jtis)


@pytest.mark.parametrize(
    "value",
    ['quote " and \\ backslash', "ünïcødé ✓ 🎂", "ctrl \x00\x1f\n\t", "</script>", "a" * 300],
)
@pytest.mark.parametrize("upper", [None, "effective", 'ünï"cødé'])
def test_payload_json_matches_the_json_module(signer: TokenSigner, value: str, upper: str | None) -> None:
    # The signer writes JSON by hand for speed; it must be byte-identical to json.dumps.
    token, claims = signer.issue(
        **{**ARGS, "client_id": value, "band": value, "method": value, "upper_level": upper}
    )
    payload = segments(token)[1]
    assert payload == json.dumps(claims.to_payload(), separators=(",", ":")).encode()
    assert json.loads(payload)["aud"] == value
    assert json.loads(payload)["upper_level"] == upper


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("band", ""),
        ("client_id", ""),
        ("sid", None),
        ("level", 3),
        ("upper_level", ""),
        ("upper_level", 3),
        ("recheck_at", True),
        ("recheck_at", 1.5),
        ("recheck_at", "1767225600"),
    ],
)
def test_refuses_to_issue_what_the_verifier_would_reject(
    signer: TokenSigner, name: str, value: object
) -> None:
    with pytest.raises(ValueError, match="claim"):
        signer.issue(**{**ARGS, name: value})


def test_refuses_oversized_tokens(signer: TokenSigner) -> None:
    with pytest.raises(ValueError, match="MAX_TOKEN_BYTES"):
        signer.issue(**{**ARGS, "policy_version": "x" * 9000})


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(seconds=-5), timedelta(milliseconds=1500)])
def test_lifetime_must_be_whole_positive_seconds(
    ring: KeyRing, clock: FixedClock, lifetime: timedelta
) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        TokenSigner(ring, ISSUER, lifetime=lifetime, clock=clock)
