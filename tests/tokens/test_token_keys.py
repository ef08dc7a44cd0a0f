"""Keys: loading PEM and JWK files, generating and writing, the key ring and its JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.core.errors import AgebandError
from service.tokens import (
    KeyConfigError,
    KeyRing,
    KeyState,
    SigningKey,
    generate_key,
    load_key,
    write_key,
)

# RFC 8037 appendix A.1 (Ed25519 private key) and A.3 (its RFC 7638 thumbprint).
RFC8037_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

PKCS8 = serialization.PrivateFormat.PKCS8
NO_ENC = serialization.NoEncryption()
PEM = serialization.Encoding.PEM


def thumbprint(jwk: Mapping[str, object]) -> str:
    """RFC 7638 computed here independently: required members, sorted, no whitespace."""
    required = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}[str(jwk["kty"])]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def native_key(alg: str) -> Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
    if alg == "EdDSA":
        return Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


# --- loading -------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_load_pem_pkcs8(tmp_path: Path, alg: str) -> None:
    native = native_key(alg)
    path = write(tmp_path, "k.pem", native.private_bytes(PEM, PKCS8, NO_ENC))
    key = load_key(path, KeyState.active)
    assert key.alg == alg
    assert key.state is KeyState.active
    assert key.kid == thumbprint(key.public_jwk())


def test_load_pem_sec1_ec_private_key(tmp_path: Path) -> None:
    native = ec.generate_private_key(ec.SECP256R1())
    pem = native.private_bytes(PEM, serialization.PrivateFormat.TraditionalOpenSSL, NO_ENC)
    assert pem.startswith(b"-----BEGIN EC PRIVATE KEY-----")
    key = load_key(write(tmp_path, "k.pem", b"\n  " + pem), KeyState.next)
    assert key.alg == "ES256"
    assert key.state is KeyState.next


def test_load_jwk_eddsa_known_answer(tmp_path: Path) -> None:
    key = load_key(write(tmp_path, "k.json", json.dumps(RFC8037_JWK)), KeyState.active)
    assert key.alg == "EdDSA"
    assert key.kid == RFC8037_THUMBPRINT
    assert key.public_jwk() == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": RFC8037_JWK["x"],
        "kid": RFC8037_THUMBPRINT,
        "alg": "EdDSA",
        "use": "sig",
    }


def test_load_jwk_es256(tmp_path: Path) -> None:
    source = generate_key("ES256")
    jwk = source.key.as_dict(private=True)
    key = load_key(write(tmp_path, "k.json", json.dumps(jwk)), KeyState.retired)
    assert key.alg == "ES256"
    assert key.kid == source.kid == thumbprint(jwk)
    assert key.state is KeyState.retired


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_pem_and_jwk_of_the_same_key_get_the_same_kid(tmp_path: Path, alg: str) -> None:
    original = generate_key(alg)
    write_key(original, tmp_path / "k.pem", "pem")
    write_key(original, tmp_path / "k.jwk", "jwk")
    from_pem = load_key(tmp_path / "k.pem", KeyState.active)
    from_jwk = load_key(tmp_path / "k.jwk", KeyState.active)
    assert from_pem.kid == from_jwk.kid == original.kid
    assert from_pem.public_jwk() == from_jwk.public_jwk() == original.public_jwk()


def test_jwk_file_extras_are_dropped_and_kid_is_the_thumbprint(tmp_path: Path) -> None:
    jwk = {**RFC8037_JWK, "kid": "my-own-name", "key_ops": ["sign"], "alg": "EdDSA"}
    key = load_key(write(tmp_path, "k.json", json.dumps(jwk)), KeyState.active)
    assert key.kid == RFC8037_THUMBPRINT
    assert set(key.public_jwk()) == {"kty", "crv", "x", "kid", "alg", "use"}


def _bad_files() -> list[tuple[str, bytes, str]]:
    rsa_pem = rsa.generate_private_key(65537, 2048).private_bytes(PEM, PKCS8, NO_ENC)
    p384_pem = ec.generate_private_key(ec.SECP384R1()).private_bytes(PEM, PKCS8, NO_ENC)
    ed448_pem = Ed448PrivateKey.generate().private_bytes(PEM, PKCS8, NO_ENC)
    public_pem = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    encrypted_pem = Ed25519PrivateKey.generate().private_bytes(
        PEM, PKCS8, serialization.BestAvailableEncryption(b"pass phrase")
    )
    public_jwk = {k: v for k, v in RFC8037_JWK.items() if k != "d"}
    return [
        ("garbage", b"hello", "neither a PEM nor a JWK"),
        ("empty", b"", "neither a PEM nor a JWK"),
        ("rsa", rsa_pem, "unsupported key type"),
        ("p384", p384_pem, "unsupported key type"),
        ("ed448", ed448_pem, "unsupported key type"),
        ("public-pem", public_pem, "not a readable PEM private key"),
        ("encrypted", encrypted_pem, "encrypted PEM keys are not supported"),
        ("broken-pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PEM"),
        ("bad-json", b"{not json", "not valid JSON"),
        ("jwks", json.dumps({"keys": [RFC8037_JWK]}).encode(), "single JWK"),
        ("public-jwk", json.dumps(public_jwk).encode(), "not a private key"),
        ("x25519", json.dumps({**RFC8037_JWK, "crv": "X25519"}).encode(), "unsupported"),
        ("alg-mismatch", json.dumps({**RFC8037_JWK, "alg": "ES256"}).encode(), "'alg'"),
        ("use-enc", json.dumps({**RFC8037_JWK, "use": "enc"}).encode(), "'use'"),
        ("bad-d", json.dumps({**RFC8037_JWK, "d": "!!"}).encode(), "invalid JWK"),
    ]


@pytest.mark.parametrize(("name", "data", "message"), _bad_files(), ids=lambda v: str(v)[:12])
def test_load_key_errors_name_the_file_and_not_the_key(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = write(tmp_path, f"{name}.key", data)
    with pytest.raises(KeyConfigError) as info:
        load_key(path, KeyState.active)
    text = str(info.value)
    assert str(path) in text
    assert message in text
    assert RFC8037_JWK["d"] not in text
    assert "PRIVATE KEY" not in text
    assert info.value.__cause__ is None  # library messages (which may quote input) dropped
    assert isinstance(info.value, AgebandError)


def test_load_key_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="cannot read key file"):
        load_key(tmp_path / "absent.pem", KeyState.active)


# --- generating and writing ----------------------------------------------------------------


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
@pytest.mark.parametrize("fmt", ["pem", "jwk"])
def test_generate_write_load_round_trip(tmp_path: Path, alg: str, fmt: str) -> None:
    key = generate_key(alg)
    assert key.state is KeyState.next  # publish before signing
    path = tmp_path / f"key.{fmt}"
    write_key(key, path, fmt)  # type: ignore[arg-type]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_key(path, KeyState.active)
    assert loaded.kid == key.kid
    assert loaded.alg == alg
    assert loaded.public_jwk() == key.public_jwk()


def test_write_key_mode_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0o000)
    try:
        write_key(generate_key(), tmp_path / "k.pem", "pem")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600


def test_write_key_never_overwrites(tmp_path: Path) -> None:
    path = write(tmp_path, "k.pem", b"precious")
    with pytest.raises(KeyConfigError, match="already exists"):
        write_key(generate_key(), path, "pem")
    assert path.read_bytes() == b"precious"


def test_written_jwk_carries_kid_alg_use(tmp_path: Path) -> None:
    key = generate_key("ES256")
    write_key(key, tmp_path / "k.jwk", "jwk")
    data = json.loads((tmp_path / "k.jwk").read_text())
    assert data["kid"] == key.kid
    assert data["alg"] == "ES256"
    assert data["use"] == "sig"
    assert "d" in data


def test_generate_key_rejects_other_algorithms() -> None:
    for alg in ("HS256", "RS256", "none", "ES384"):
        with pytest.raises(KeyConfigError, match="unsupported algorithm"):
            generate_key(alg)


def test_signing_key_repr_has_no_key_material() -> None:
    key = generate_key("EdDSA")
    private = key.key.as_dict(private=True)["d"]
    assert str(private) not in repr(key)
    assert key.kid in repr(key)


# --- key ring ------------------------------------------------------------------------------


def test_keyring_requires_exactly_one_active_key() -> None:
    with pytest.raises(KeyConfigError, match="found 0"):
        KeyRing([generate_key(state=KeyState.next)])
    with pytest.raises(KeyConfigError, match="found 0"):
        KeyRing([])
    with pytest.raises(KeyConfigError, match="found 2"):
        KeyRing([generate_key(state=KeyState.active), generate_key(state=KeyState.active)])


def test_keyring_rejects_the_same_key_twice() -> None:
    key = generate_key(state=KeyState.active)
    with pytest.raises(KeyConfigError, match="more than once"):
        KeyRing([key, key.with_state(KeyState.retired)])


def test_keyring_lookup_and_algorithms() -> None:
    nxt = generate_key("ES256", state=KeyState.next)
    active = generate_key("EdDSA", state=KeyState.active)
    retired = generate_key("EdDSA", state=KeyState.retired)
    ring = KeyRing([nxt, active, retired])
    assert ring.signing_key is active
    assert ring.algorithms == frozenset({"EdDSA", "ES256"})
    assert ring.find(nxt.kid) is nxt
    assert ring.find(retired.kid) is retired
    assert ring.find("nope") is None
    assert ring.keys == (nxt, active, retired)


def test_jwks_publishes_every_state_and_no_private_members() -> None:
    keys = [
        generate_key("ES256", state=KeyState.next),
        generate_key("EdDSA", state=KeyState.active),
        generate_key("ES256", state=KeyState.retired),
    ]
    jwks = KeyRing(keys).jwks()
    assert set(jwks) == {"keys"}
    assert [j["kid"] for j in jwks["keys"]] == [k.kid for k in keys]
    for jwk, key in zip(jwks["keys"], keys, strict=True):
        expected = {"kty", "crv", "x", "kid", "alg", "use"} | ({"y"} if key.alg == "ES256" else set())
        assert set(jwk) == expected
        assert "d" not in jwk
        assert jwk["use"] == "sig"
        assert jwk["alg"] == key.alg
        assert jwk["kid"] == thumbprint(jwk)
    json.dumps(jwks)  # serialisable as is


def test_development_ring_is_one_active_ed25519_key() -> None:
    ring = KeyRing.development()
    assert len(ring.keys) == 1
    assert ring.signing_key.state is KeyState.active
    assert ring.signing_key.alg == "EdDSA"
    assert ring.algorithms == frozenset({"EdDSA"})
    assert KeyRing.development().signing_key.kid != ring.signing_key.kid


def test_with_state_keeps_the_key() -> None:
    key: SigningKey = generate_key()
    active = key.with_state(KeyState.active)
    assert active.kid == key.kid
    assert active.state is KeyState.active
    assert active.key is key.key
