"""The verifier's positive paths, time windows and error shape (attacks: test_token_attacks)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tokens_forge import CLIENT, ISSUER, NOW_TS, Forger, valid_claims

from service.core.clock import FixedClock
from service.core.errors import Unauthorized
from service.tokens import (
    InvalidToken,
    KeyRing,
    KeyState,
    TokenClaims,
    TokenSigner,
    TokenVerifier,
    generate_key,
)

ARGS: dict[str, Any] = {
    "client_id": CLIENT,
    "sid": "sid_" + "C" * 43,
    "band": "18+",
    "level": "highly_effective",
    "method": "self_declaration",
    "jurisdiction": "GB",
    "policy_version": "2025-01",
    "recheck_at": NOW_TS + 3600,
}


def reason(verifier: TokenVerifier, token: str, audience: str | None = CLIENT) -> str:
    with pytest.raises(InvalidToken) as info:
        verifier.verify(token, audience=audience)
    return info.value.reason


def test_issued_token_verifies(signer: TokenSigner, verifier: TokenVerifier) -> None:
    token, issued = signer.issue(**ARGS)
    assert verifier.verify(token, audience=CLIENT) == issued


def test_hand_built_token_verifies(forger: Forger, verifier: TokenVerifier) -> None:
    # The control for every attack test: the forger's default token is valid.
    assert verifier.verify(forger.token(), audience=CLIENT) == TokenClaims(**valid_claims())


def test_audience_none_accepts_any_single_audience(signer: TokenSigner, verifier: TokenVerifier) -> None:
    token, _ = signer.issue(**{**ARGS, "client_id": "another-app"})
    assert verifier.verify(token, audience=None).aud == "another-app"


@pytest.mark.parametrize("state", [KeyState.next, KeyState.retired])
def test_next_and_retired_keys_still_verify(clock: FixedClock, state: KeyState) -> None:
    other = generate_key("ES256", state=KeyState.active)
    old_ring = KeyRing([other])
    token, _ = TokenSigner(old_ring, ISSUER, clock=clock).issue(**ARGS)
    new_ring = KeyRing([generate_key(state=KeyState.active), other.with_state(state)])
    assert TokenVerifier(new_ring, ISSUER, clock).verify(token, audience=CLIENT).aud == CLIENT


def test_mixed_algorithm_ring(clock: FixedClock) -> None:
    ed = generate_key("EdDSA", state=KeyState.active)
    es = generate_key("ES256", state=KeyState.retired)
    ring = KeyRing([ed, es])
    verifier = TokenVerifier(ring, ISSUER, clock)
    for key in (ed, es):
        assert verifier.verify(Forger(key).token(), audience=CLIENT).iss == ISSUER


def test_expiry_boundary_with_leeway(forger: Forger, verifier: TokenVerifier, clock: FixedClock) -> None:
    token = forger.token()  # exp = now + 300, leeway 30
    clock.advance(timedelta(seconds=329))
    verifier.verify(token, audience=CLIENT)
    clock.advance(timedelta(seconds=1))
    assert reason(verifier, token) == "expired"


def test_zero_leeway(forger: Forger, ring: KeyRing, clock: FixedClock) -> None:
    verifier = TokenVerifier(ring, ISSUER, clock, leeway_seconds=0)
    token = forger.token()
    clock.advance(timedelta(seconds=299))
    verifier.verify(token, audience=CLIENT)
    clock.advance(timedelta(seconds=1))
    assert reason(verifier, token) == "expired"


def test_iat_within_leeway_is_accepted(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token(claims={**valid_claims(), "iat": NOW_TS + 30})
    verifier.verify(token, audience=CLIENT)


def test_nbf_in_the_past_is_accepted(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token(claims={**valid_claims(), "nbf": NOW_TS + 30})
    assert verifier.verify(token, audience=CLIENT) == TokenClaims(**valid_claims())


def test_negative_leeway_is_refused(ring: KeyRing, clock: FixedClock) -> None:
    with pytest.raises(ValueError, match="leeway"):
        TokenVerifier(ring, ISSUER, clock, leeway_seconds=-1)


def test_invalid_token_error_shape(verifier: TokenVerifier, forger: Forger) -> None:
    token = forger.token(claims={**valid_claims(), "iss": "https://evil.example"})
    with pytest.raises(InvalidToken) as info:
        verifier.verify(token, audience=CLIENT)
    err = info.value
    assert isinstance(err, Unauthorized)
    assert (err.status, err.code) == (401, "invalid_token")
    assert err.reason == "wrong issuer"
    # Neither the client-facing detail nor the log text carries any part of the token.
    for text in (err.detail, str(err), repr(err)):
        for part in token.split("."):
            assert part not in text
    assert "wrong issuer" not in err.detail
