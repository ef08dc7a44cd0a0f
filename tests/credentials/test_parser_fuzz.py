"""Property fuzzing of the credential parsers: whatever bytes or text a wallet sends, the mdoc
(CBOR/COSE) and SD-JWT verifiers refuse it with one of their stable reason codes, and nothing
else escapes (an escaping exception would be a 500).

Bounded and reproducible: derandomized, no example database, a fixed number of examples. Inputs
are shaped near the real thing (CBOR documents with the mdoc's keys, SD-JWTs with tildes and
base64url segments), so that the parsers get past their first checks.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import cbor2
import pytest
from credential_factory import Pki
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.credentials.binding import Binding
from providers.credentials.cose import parse_sign1
from providers.credentials.errors import MALFORMED, REASONS, Rejected
from providers.credentials.mdoc import verify_mdoc
from providers.credentials.sdjwt import verify_sd_jwt

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
FUZZ = settings(
    max_examples=120,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BINDING = Binding(
    client_ids=("x509_san_dns:verifier.ageband.test",), nonce="n0nce", response_uri="https://a.test/r"
)
VCT = frozenset({"urn:eudi:age_verification:1"})
MDOC_KEYS = ("version", "documents", "docType", "issuerSigned", "deviceSigned", "nameSpaces", "issuerAuth",
             "deviceAuth", "deviceSignature", "status")  # fmt: skip

cbor_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.binary(max_size=40),
    st.text(max_size=20), st.sampled_from(MDOC_KEYS), st.floats(allow_nan=True),
)  # fmt: skip
cbor_values = st.recursive(
    cbor_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.one_of(st.sampled_from(MDOC_KEYS), st.text(max_size=8), st.integers(-5, 40)), inner, max_size=5
        ),
        st.builds(cbor2.CBORTag, st.sampled_from([18, 24, 1004, 55799]), inner),
        inner.map(lambda v: cbor2.CBORTag(24, cbor2.dumps(v))),  # embedded CBOR, as an mdoc nests it
    ),
    max_leaves=25,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


JOSE_KEYS = ["alg", "typ", "x5c", "kid", "vct", "iss", "cnf", "_sd", "_sd_alg", "status", "crit", "jwk"]
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12)),
    lambda i: st.one_of(st.lists(i, max_size=3), st.dictionaries(st.text(max_size=5), i, max_size=3)),
    max_leaves=8,
)
json_objects = st.dictionaries(st.sampled_from(JOSE_KEYS), json_values, max_size=6)
segments = st.one_of(json_objects.map(lambda o: _b64(json.dumps(o).encode())), st.text(max_size=30))
jws_like = st.builds(lambda h, p, s: f"{h}.{p}.{s}", segments, segments, st.binary(max_size=64).map(_b64))
key_bindings = st.one_of(st.just(""), jws_like)
sd_jwts = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda jwt, ds, kb: "~".join([jwt, *ds, kb]), jws_like, st.lists(segments, max_size=3), key_bindings
    ),
)


def _only_stable_refusals(call: Any) -> None:
    try:
        call()
    except Rejected as exc:
        assert exc.reason in REASONS, exc.reason
    else:  # nothing made up here may verify
        pytest.fail("a fuzzed presentation verified")


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.make()


@FUZZ
@given(value=cbor_values)
def test_any_cbor_document_is_refused_with_a_stable_reason(pki: Pki, value: Any) -> None:
    raw = cbor2.dumps(value)
    _only_stable_refusals(lambda: verify_mdoc(raw, pki.trust, BINDING, NOW))


@FUZZ
@given(raw=st.binary(max_size=300))
def test_any_bytes_as_an_mdoc_are_refused_with_a_stable_reason(pki: Pki, raw: bytes) -> None:
    _only_stable_refusals(lambda: verify_mdoc(raw, pki.trust, BINDING, NOW))


@FUZZ
@given(value=cbor_values)
def test_any_cbor_value_as_cose_sign1_is_malformed_or_a_message(value: Any) -> None:
    try:
        msg = parse_sign1(value)
    except Rejected as exc:
        assert exc.reason == MALFORMED
    else:
        assert isinstance(msg.protected_raw, bytes) and isinstance(msg.signature, bytes)


@FUZZ
@given(presentation=sd_jwts)
def test_any_sd_jwt_is_refused_with_a_stable_reason(pki: Pki, presentation: str) -> None:
    _only_stable_refusals(lambda: verify_sd_jwt(presentation, pki.trust, BINDING, NOW, VCT))
