"""The Python SDK's cache of verified tokens keeps every rule of a fresh verification: the same
claims, never past exp (the injected clock), emptied when the JWKS changes, iss and aud checked
per call, refusals never cached, bounded, and off when sized 0."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from ageband_client import InvalidToken, KeySet, TokenCache, TokenVerifier
from tokens_forge import CLIENT, ISSUER, NOW_TS, Forger, valid_claims

from service.tokens.keys import SigningKey, generate_key

_serial = itertools.count()


def _keys(*signers: SigningKey) -> KeySet:
    return KeySet({"keys": [s.public_jwk() for s in signers]})


def _token(key: SigningKey, **changes: Any) -> str:
    n = next(_serial)
    return Forger(key).token(claims={**valid_claims(), "jti": f"cache-jti-{n:06d}", **changes})


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _verifier(keys: KeySet, now: float = NOW_TS, **kwargs: Any) -> tuple[TokenVerifier, Clock]:
    clock = Clock(now)
    return TokenVerifier(keys, issuer=ISSUER, audience=CLIENT, clock=clock, **kwargs), clock


def test_a_second_verification_is_a_hit_with_the_same_claims() -> None:
    a = generate_key()
    token = _token(a)
    v, _ = _verifier(_keys(a))
    assert v.verify(token) == v.verify(token)
    assert (v.cache.hits, v.cache.misses, len(v.cache)) == (1, 1, 1)


def test_a_cached_token_is_refused_once_expired_by_the_same_clock_and_leeway() -> None:
    a = generate_key()
    token = _token(a)  # exp NOW_TS + 300
    v, clock = _verifier(_keys(a), leeway=30)
    v.verify(token)
    clock.now = NOW_TS + 299
    v.verify(token)
    assert v.cache.hits == 1
    clock.now = NOW_TS + 300  # from exp on: verified afresh (the leeway applies), not cached again
    assert v.verify(token).exp == NOW_TS + 300
    assert (v.cache.hits, v.cache.misses, len(v.cache)) == (1, 2, 0)
    clock.now = NOW_TS + 330
    with pytest.raises(InvalidToken, match="expired"):
        v.verify(token)
    strict, strict_clock = _verifier(_keys(a), leeway=0)
    strict.verify(token)
    strict_clock.now = NOW_TS + 300
    with pytest.raises(InvalidToken, match="expired"):
        strict.verify(token)


def test_a_clock_set_back_before_iat_or_nbf_is_not_served_from_the_cache() -> None:
    a = generate_key()
    with_nbf, plain = _token(a, nbf=NOW_TS + 10), _token(a)
    v, clock = _verifier(_keys(a), now=NOW_TS + 10, leeway=0)
    v.verify(with_nbf)
    v.verify(plain)
    clock.now = NOW_TS + 5
    with pytest.raises(InvalidToken, match="not yet valid"):
        v.verify(with_nbf)
    clock.now = NOW_TS - 5
    with pytest.raises(InvalidToken, match="issued in the future"):
        v.verify(plain)
    assert v.cache.hits == 0


def test_a_removed_key_empties_the_cache_and_its_tokens_are_refused() -> None:
    a, b = generate_key(), generate_key()
    token = _token(a)
    v, _ = _verifier(_keys(a, b))
    v.verify(token)
    v.verify(token)
    v.keys = _keys(b)
    with pytest.raises(InvalidToken, match="unknown kid") as err:
        v.verify(token)
    assert err.value.unknown_kid
    assert (v.cache.hits, len(v.cache)) == (1, 0)


def test_a_rotation_empties_the_cache_and_the_same_keys_reloaded_keep_it() -> None:
    a, c = generate_key(), generate_key()
    token = _token(a)
    v, _ = _verifier(_keys(a))
    v.verify(token)
    v.keys = _keys(a)  # refetched, unchanged
    v.verify(token)
    assert (v.cache.hits, v.cache.misses) == (1, 1)
    v.keys = _keys(a, c)
    v.verify(token)
    assert (v.cache.hits, v.cache.misses) == (1, 2)


def test_audience_and_issuer_are_checked_on_every_call_cached_or_not() -> None:
    a = generate_key()
    token, keys, cache = _token(a), _keys(a), TokenCache(10)
    cache.verify(token, keys, issuer=ISSUER, audience=CLIENT, now=NOW_TS)
    with pytest.raises(InvalidToken, match="wrong audience"):
        cache.verify(token, keys, issuer=ISSUER, audience="app-two", now=NOW_TS)
    with pytest.raises(InvalidToken, match="wrong issuer"):
        cache.verify(token, keys, issuer="urn:other", audience=CLIENT, now=NOW_TS)
    assert cache.verify(token, keys, issuer=ISSUER, audience=CLIENT, now=NOW_TS).aud == CLIENT
    assert cache.hits == 1


def test_a_refusal_is_never_cached() -> None:
    a = generate_key()
    other_app = _token(a, aud="app-two")
    v, _ = _verifier(_keys(a))
    for _ in range(2):
        with pytest.raises(InvalidToken, match="wrong audience"):
            v.verify(other_app)
    assert (v.cache.hits, len(v.cache)) == (0, 0)


def test_the_size_is_bounded_least_recently_used_first_out() -> None:
    a = generate_key()
    t1, t2, t3 = _token(a), _token(a), _token(a)
    v, _ = _verifier(_keys(a), cache_size=2)
    for t in (t1, t2, t1, t3):  # t1 a hit, so t3 evicts t2
        v.verify(t)
    assert (v.cache.hits, v.cache.misses, len(v.cache)) == (1, 3, 2)
    v.verify(t3)
    v.verify(t1)
    v.verify(t2)
    assert (v.cache.hits, v.cache.misses, len(v.cache)) == (3, 4, 2)


def test_a_cache_sized_0_verifies_every_time() -> None:
    a = generate_key()
    token = _token(a)
    v, _ = _verifier(_keys(a), cache_size=0)
    for _ in range(3):
        assert v.verify(token).aud == CLIENT
    assert (v.cache.hits, v.cache.misses, len(v.cache)) == (0, 3, 0)
    with pytest.raises(ValueError, match="at least 0"):
        TokenCache(-1)
