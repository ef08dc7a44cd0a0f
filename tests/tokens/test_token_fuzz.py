"""Property fuzzing of token verification: any string, and any JWS-shaped string with fuzzed
header and claims (signed by the real key, so the claim checks run too), is refused as
``invalid_token`` or verifies as a token with every claim; nothing else escapes."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokens_forge import Forger, valid_claims

from service.tokens import TokenVerifier
from service.tokens.errors import InvalidToken

FUZZ = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CLAIMS = ["iss", "aud", "sub", "iat", "exp", "jti", "age_band", "level", "method", "jur", "pol", "recheck_at"]
HEADERS = ["alg", "typ", "kid", "jku", "x5u", "jwk", "crit", "cty"]
values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=16)),
    lambda i: st.one_of(st.lists(i, max_size=3), st.dictionaries(st.text(max_size=5), i, max_size=3)),
    max_leaves=6,
)


def _refused_or_whole(verifier: TokenVerifier, token: str) -> None:
    try:
        claims = verifier.verify(token, audience=None)
    except InvalidToken as exc:
        assert exc.code == "invalid_token"
    else:
        assert claims.sub and claims.jti and claims.exp > claims.iat


@FUZZ
@given(token=st.text(max_size=300))
def test_any_string_is_refused_as_invalid_token(verifier: TokenVerifier, token: str) -> None:
    _refused_or_whole(verifier, token)


@FUZZ
@given(
    header=st.dictionaries(st.sampled_from(HEADERS), values, max_size=5),
    overrides=st.dictionaries(st.sampled_from(CLAIMS), values, max_size=4),
    dropped=st.lists(st.sampled_from(CLAIMS), max_size=2),
    keep=st.booleans(),
)
def test_signed_tokens_with_fuzzed_header_and_claims_are_refused_or_whole(
    verifier: TokenVerifier,
    forger: Forger,
    header: dict[str, Any],
    overrides: dict[str, Any],
    dropped: list[str],
    keep: bool,
) -> None:
    """Signed by the real key: with the real header the signature verifies and the claims (a valid
    set with some replaced or dropped) are what is judged."""
    claims = {k: v for k, v in {**valid_claims(), **overrides}.items() if k not in dropped}
    _refused_or_whole(verifier, forger.token(forger.header() if keep else header, claims))
