"""One named test per attack on token verification.

Every hostile token is built by hand and, where a signature matters, correctly signed, so
that exactly the property under test is wrong; each test also checks the reason, proving
that the intended check (and not some earlier accident) rejected it.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from tokens_forge import (
    CLIENT,
    ISSUER,
    NON_CANONICAL_FORMS,
    NOW_TS,
    Forger,
    b64,
    b64json,
    hmac_signer,
    non_canonical,
    unb64,
    valid_claims,
    with_dropped_bits,
)

from service.core.clock import FixedClock
from service.tokens import (
    CLAIM_NAMES,
    MAX_TOKEN_BYTES,
    InvalidToken,
    KeyRing,
    KeyState,
    SigningKey,
    TokenSigner,
    TokenVerifier,
    generate_key,
)


def reason(verifier: TokenVerifier, token: str, audience: str | None = CLIENT) -> str:
    with pytest.raises(InvalidToken) as info:
        verifier.verify(token, audience=audience)
    return info.value.reason


def claims(**changes: Any) -> dict[str, Any]:
    return {**valid_claims(), **changes}


# --- algorithm ------------------------------------------------------------------------------


def test_rejects_alg_none(forger: Forger, verifier: TokenVerifier) -> None:
    unsigned = forger.token(forger.header(alg="none"), sign=lambda _: b"")
    assert reason(verifier, unsigned) == "algorithm not allowed"
    assert reason(verifier, unsigned.rsplit(".", 1)[0] + ".") == "algorithm not allowed"
    for spelling in ("None", "NONE", "nOnE"):
        token = forger.token(forger.header(alg=spelling), sign=lambda _: b"")
        assert reason(verifier, token) == "algorithm not allowed"


def test_rejects_hs256_signed_with_public_key_pem(
    forger: Forger, verifier: TokenVerifier, active_key: SigningKey
) -> None:
    public_pem = active_key.key.as_pem(private=False)
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    for secret in (public_pem, public_pem.strip()):
        token = forger.token(forger.header(alg="HS256"), sign=hmac_signer(secret))
        assert reason(verifier, token) == "algorithm not allowed"


def test_rejects_hs256_signed_with_public_key_jwk(
    forger: Forger, verifier: TokenVerifier, active_key: SigningKey
) -> None:
    jwk = active_key.public_jwk()
    secrets = [
        json.dumps(jwk).encode(),
        json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode(),
        json.dumps(KeyRing([active_key]).jwks()).encode(),  # the published JWKS verbatim
    ]
    for secret in secrets:
        token = forger.token(forger.header(alg="HS256"), sign=hmac_signer(secret))
        assert reason(verifier, token) == "algorithm not allowed"


def test_rejects_alg_of_another_key_in_the_ring(clock: FixedClock) -> None:
    # Both algorithms are in the ring, but the kid pins the algorithm: an ES256 token that
    # names the EdDSA key's kid is refused even though its ES256 signature is genuine.
    ed = generate_key("EdDSA", state=KeyState.active)
    es = generate_key("ES256", state=KeyState.retired)
    verifier = TokenVerifier(KeyRing([ed, es]), ISSUER, clock)
    token = Forger(es).token(Forger(es).header(kid=ed.kid))
    assert reason(verifier, token) == "algorithm does not match key"


def test_rejects_alg_not_a_string(forger: Forger, verifier: TokenVerifier) -> None:
    for alg in (None, ["EdDSA", "ES256"], 1, {"name": "EdDSA"}):
        assert reason(verifier, forger.token(forger.header(alg=alg))) == "algorithm not allowed"


# --- typ and other headers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "typ", ["JWT", "at+jwt", "AGEBAND+JWT", "application/ageband+jwt", "ageband+jwt ", "", None]
)
def test_rejects_wrong_typ(forger: Forger, verifier: TokenVerifier, typ: str | None) -> None:
    assert reason(verifier, forger.token(forger.header(typ=typ))) == "wrong typ"


def test_rejects_missing_typ(forger: Forger, verifier: TokenVerifier) -> None:
    header = forger.header()
    del header["typ"]
    assert reason(verifier, forger.token(header)) == "wrong typ"


def test_rejects_crit_header(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token(forger.header(crit=["exp"], exp=NOW_TS + 300))
    assert reason(verifier, token) == "forbidden header crit"


def test_rejects_jku_header(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token(forger.header(jku="https://evil.example/jwks.json"))
    assert reason(verifier, token) == "forbidden header jku"


def test_rejects_x5u_header(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token(forger.header(x5u="https://evil.example/cert.pem"))
    assert reason(verifier, token) == "forbidden header x5u"


def test_rejects_jwk_header(forger: Forger, verifier: TokenVerifier, alg: str) -> None:
    # The attacker embeds their own public key and signs with its private half.
    attacker = generate_key(alg)
    token = Forger(attacker).token(Forger(attacker).header(jwk=attacker.public_jwk()))
    assert reason(verifier, token) == "forbidden header jwk"
    # ...and naming a kid from our ring changes nothing.
    header = forger.header(jwk=attacker.public_jwk())
    assert reason(verifier, Forger(attacker).token(header)) == "forbidden header jwk"


def test_rejects_x5c_header(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token(forger.header(x5c=["MIIBkTCB+wIJAK..."]))
    assert reason(verifier, token) == "forbidden header x5c"


@pytest.mark.parametrize(
    "extra", [{"b64": False}, {"zip": "DEF"}, {"cty": "JWT"}, {"x5t#S256": "abc"}, {"foo": 1}]
)
def test_rejects_any_other_header(forger: Forger, verifier: TokenVerifier, extra: dict[str, Any]) -> None:
    assert reason(verifier, forger.token(forger.header(**extra))) == "unexpected header"


# --- kid ------------------------------------------------------------------------------------


def test_rejects_unknown_kid(forger: Forger, verifier: TokenVerifier, alg: str) -> None:
    attacker = generate_key(alg)  # well-formed kid (a thumbprint), just not ours
    assert reason(verifier, Forger(attacker).token()) == "unknown kid"
    assert reason(verifier, forger.token(forger.header(kid="A" * 43))) == "unknown kid"


def test_rejects_missing_kid(forger: Forger, verifier: TokenVerifier) -> None:
    header = forger.header()
    del header["kid"]
    assert reason(verifier, forger.token(header)) == "malformed kid"


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../etc/passwd",
        "..\\..\\keys\\active",
        "/dev/null",
        "x' OR '1'='1",
        "kid; DROP TABLE keys;--",
        'kid" UNION SELECT d FROM keys --',
        "%2e%2e%2fkeys",
        "kid\x00.pem",
        "kid with space",
        "kid.pem",
        "A" * 65,
        "",
        "ключ",
        7,
        None,
        ["kid"],
    ],
)
def test_rejects_kid_with_path_and_sql_characters(
    forger: Forger, verifier: TokenVerifier, kid: object
) -> None:
    assert reason(verifier, forger.token(forger.header(kid=kid))) == "malformed kid"


def test_rejects_real_kid_with_trailing_newline(forger: Forger, verifier: TokenVerifier) -> None:
    # `$` in a regex matches before a final newline; the check must not.
    token = forger.token(forger.header(kid=forger.key.kid + "\n"))
    assert reason(verifier, token) == "malformed kid"


# --- signature ------------------------------------------------------------------------------


def test_rejects_tampered_payload(signer: TokenSigner, verifier: TokenVerifier) -> None:
    token, issued = signer.issue(
        client_id=CLIENT,
        sid="sid_" + "D" * 43,
        band="13-15",
        level="basic",
        method="self_declaration",
        jurisdiction="GB",
        policy_version="2025-01",
        recheck_at=NOW_TS + 3600,
    )
    header, _, signature = token.split(".")
    tampered = {**issued.to_payload(), "age_band": "18+"}
    assert reason(verifier, f"{header}.{b64json(tampered)}.{signature}") == "bad signature"


def test_rejects_tampered_header(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token()
    _, payload, signature = token.split(".")
    header = b64(json.dumps(forger.header(), indent=1).encode())  # same members, new bytes
    assert reason(verifier, f"{header}.{payload}.{signature}") == "bad signature"


def test_rejects_signature_by_another_key(forger: Forger, verifier: TokenVerifier, alg: str) -> None:
    attacker = generate_key(alg)
    token = Forger(attacker).token(forger.header())  # our kid, their signature
    assert reason(verifier, token) == "bad signature"


def test_rejects_empty_or_truncated_signature(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token()
    head, signature = token.rsplit(".", 1)
    assert reason(verifier, head + ".") == "bad signature"
    truncated = b64(unb64(signature)[:-3])  # whole bytes cut off: still canonical base64url
    assert reason(verifier, f"{head}.{truncated}") == "bad signature"


# --- claims ---------------------------------------------------------------------------------


def test_rejects_wrong_iss(forger: Forger, verifier: TokenVerifier) -> None:
    for iss in ("https://evil.example", ISSUER + "/", ISSUER.upper()):
        assert reason(verifier, forger.token(claims=claims(iss=iss))) == "wrong issuer"


def test_rejects_wrong_aud(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token(claims=claims(aud="another-app"))
    assert reason(verifier, token, audience=CLIENT) == "wrong audience"


def test_rejects_audience_list(forger: Forger, verifier: TokenVerifier) -> None:
    for aud in ([CLIENT], [CLIENT, "another-app"], []):
        token = forger.token(claims=claims(aud=aud))
        assert reason(verifier, token, audience=CLIENT) == "claim aud must be a non-empty string"
        assert reason(verifier, token, audience=None) == "claim aud must be a non-empty string"


def test_rejects_expired(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token(claims=claims(iat=NOW_TS - 600, exp=NOW_TS - 31))
    assert reason(verifier, token) == "expired"


def test_rejects_nbf_in_future(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token(claims=claims(nbf=NOW_TS + 31))
    assert reason(verifier, token) == "not yet valid (nbf)"


def test_rejects_nbf_of_wrong_type(forger: Forger, verifier: TokenVerifier) -> None:
    for nbf in (True, "0", 1.5, None):
        token = forger.token(claims=claims(nbf=nbf))
        assert reason(verifier, token) == "claim nbf must be an integer"


def test_rejects_issued_in_future(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token(claims=claims(iat=NOW_TS + 31))
    assert reason(verifier, token) == "issued in the future"


@pytest.mark.parametrize("name", CLAIM_NAMES)
def test_rejects_missing_claim(forger: Forger, verifier: TokenVerifier, name: str) -> None:
    payload = valid_claims()
    del payload[name]
    assert reason(verifier, forger.token(claims=payload)) == f"missing claim {name}"


@pytest.mark.parametrize("name", CLAIM_NAMES)
def test_rejects_claim_of_wrong_type(forger: Forger, verifier: TokenVerifier, name: str) -> None:
    good = valid_claims()[name]
    if name == "upper_level":  # null is its "not established"; a level name is a string
        good = "effective"
    bad: list[object] = [[good], {"v": good}]
    bad += [] if name == "upper_level" else [None]
    bad += [True, str(good), float(good)] if isinstance(good, int) else [1, ""]
    for value in bad:
        got = reason(verifier, forger.token(claims=claims(**{name: value})))
        assert got.startswith(f"claim {name} must be"), (value, got)


def test_rejects_unknown_claim(forger: Forger, verifier: TokenVerifier) -> None:
    for extra in ({"email": "a@b.example"}, {"dob": "2001-02-03"}, {"scope": "admin"}):
        token = forger.token(claims=claims(**extra))
        got = reason(verifier, token)
        assert got == "unexpected claims"
        assert next(iter(extra.values())) not in got


def test_rejects_duplicate_claim(forger: Forger, verifier: TokenVerifier) -> None:
    # {"aud": "app-one", ..., "aud": "another-app"}: parsers disagree on which one wins.
    body = json.dumps(valid_claims(), separators=(",", ":"))[:-1] + ',"aud":"another-app"}'
    token = forger.token(raw_payload=body.encode())
    assert reason(verifier, token, audience=None) == "malformed payload"


@pytest.mark.parametrize("payload", [b"[]", b'"claims"', b"null", b"{", b"\xff\xfe"])
def test_rejects_non_object_payload(forger: Forger, verifier: TokenVerifier, payload: bytes) -> None:
    assert reason(verifier, forger.token(raw_payload=payload)) == "malformed payload"


# --- shape and size -------------------------------------------------------------------------


def test_rejects_oversized_token_before_decoding(verifier: TokenVerifier) -> None:
    # 10 MB of characters outside base64url: any decoding would refuse it as malformed, so the
    # size refusal proves the limit is applied before the token is parsed at all.
    huge = "eyJ" + "!" * (10 * 1024 * 1024)
    with pytest.raises(InvalidToken) as info:
        verifier.verify(huge, audience=CLIENT)
    assert info.value.reason == "token too large"


def test_size_limit_is_exact(forger: Forger, verifier: TokenVerifier) -> None:
    """A valid token of exactly MAX_TOKEN_BYTES passes; one byte more is refused unparsed."""
    signature_length = len(forger.token().split(".")[2])
    header = json.dumps(forger.header(), separators=(",", ":"))
    base = json.dumps(valid_claims(), separators=(",", ":"))
    by_length: dict[int, tuple[bytes, bytes]] = {}
    # JSON whitespace in header and payload tunes the length byte by byte.
    for header_spaces, spaces, filler in itertools.product(range(3), range(4), range(5500, 6000)):
        h = (header + " " * header_spaces).encode()
        body = base.replace('"pol":"2025-02"', f'"pol":"{"p" * filler}"') + " " * spaces
        length = len(b64(h)) + len(b64(body.encode())) + signature_length + 2
        by_length.setdefault(length, (h, body.encode()))
    at_limit_parts = by_length[MAX_TOKEN_BYTES]
    at_limit = forger.token(raw_header=at_limit_parts[0], raw_payload=at_limit_parts[1])
    over_parts = by_length[MAX_TOKEN_BYTES + 1]
    over = forger.token(raw_header=over_parts[0], raw_payload=over_parts[1])
    assert (len(at_limit), len(over)) == (MAX_TOKEN_BYTES, MAX_TOKEN_BYTES + 1)
    assert verifier.verify(at_limit, audience=CLIENT).pol.startswith("ppp")
    assert reason(verifier, over) == "token too large"


@pytest.mark.parametrize(
    "token",
    ["", ".", "..", "...", "a.b", "a.b.c.d", "abc", "a..b..c"],
)
def test_rejects_wrong_number_of_segments_or_garbage(verifier: TokenVerifier, token: str) -> None:
    assert reason(verifier, token) in {"malformed token", "malformed header"}


def test_rejects_two_or_four_segments(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token()
    head, payload, signature = token.split(".")
    assert reason(verifier, f"{head}.{payload}") == "malformed token"
    assert reason(verifier, f"{token}.{signature}") == "malformed token"


def test_rejects_non_ascii_token(forger: Forger, verifier: TokenVerifier) -> None:
    token = forger.token()
    assert reason(verifier, token.replace(".", "\uff0e", 1)) == "malformed token"  # fullwidth dot
    assert reason(verifier, token + "é") == "malformed token"


@pytest.mark.parametrize(
    "raw_header",
    [
        b'["alg","EdDSA"]',
        b'"EdDSA"',
        b"null",
        b"{not json",
        b'{"alg":"EdDSA","alg":"none"}',  # duplicate members
        b"\xff\xfe",
    ],
)
def test_rejects_malformed_header(forger: Forger, verifier: TokenVerifier, raw_header: bytes) -> None:
    assert reason(verifier, forger.token(raw_header=raw_header)) == "malformed header"


@pytest.mark.parametrize("form", NON_CANONICAL_FORMS)
def test_rejects_non_canonical_base64url(forger: Forger, verifier: TokenVerifier, form: str) -> None:
    # Respelled from a valid token whose every segment has dropped bits to play with.
    header, payload = with_dropped_bits(forger.header()), with_dropped_bits(claims())
    token = forger.token(raw_header=header, raw_payload=payload)
    assert verifier.verify(token, audience=CLIENT)
    assert reason(verifier, non_canonical(token, form)) == "non-canonical encoding"
