"""Fixtures for the tokens tests: a pinned clock, key rings (one per algorithm), a forger."""

from __future__ import annotations

import pytest
from tokens_forge import ISSUER, NOW, Forger

from service.core.clock import FixedClock
from service.tokens import (
    KeyRing,
    KeyState,
    SigningKey,
    TokenSigner,
    TokenVerifier,
    generate_key,
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(params=["EdDSA", "ES256"])
def alg(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def active_key(alg: str) -> SigningKey:
    return generate_key(alg, state=KeyState.active)


@pytest.fixture
def ring(active_key: SigningKey) -> KeyRing:
    return KeyRing([active_key])


@pytest.fixture
def signer(ring: KeyRing, clock: FixedClock) -> TokenSigner:
    return TokenSigner(ring, ISSUER, clock=clock)


@pytest.fixture
def verifier(ring: KeyRing, clock: FixedClock) -> TokenVerifier:
    return TokenVerifier(ring, ISSUER, clock)


@pytest.fixture
def forger(active_key: SigningKey) -> Forger:
    return Forger(active_key)
