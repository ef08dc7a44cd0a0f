"""Signing keys: loading, generating, writing, and the key ring that signs and publishes.

A key's ``kid`` is always its RFC 7638 thumbprint, so the same key gets the same kid on
every instance and a kid can never point at two different keys.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, import_key

from service.tokens.errors import KeyConfigError

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "KeyConfigError",
    "KeyRing",
    "KeyState",
    "SigningKey",
    "generate_key",
    "load_key",
    "load_key_manifest",
    "write_key",
]

SUPPORTED_ALGORITHMS = ("EdDSA", "ES256")
# The only members a published JWK carries besides kid/alg/use: the public key itself.
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y")


class KeyState(StrEnum):
    next = "next"  # published in the JWKS, not yet signing
    active = "active"  # the one key that signs
    retired = "retired"  # still published so tokens it signed keep verifying


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    state: KeyState
    # repr=False: a stray log of a SigningKey must never risk printing key material.
    key: OKPKey | ECKey = field(repr=False, compare=False)

    def public_jwk(self) -> dict[str, str]:
        full = self.key.as_dict(private=False)
        jwk = {name: str(full[name]) for name in _PUBLIC_MEMBERS if name in full}
        jwk.update(kid=self.kid, alg=self.alg, use="sig")
        return jwk

    def with_state(self, state: KeyState) -> SigningKey:
        return replace(self, state=state)


def _wrap(native: object, state: KeyState, source: str) -> SigningKey:
    """Build a SigningKey from a cryptography private key, inferring the algorithm.

    Re-wrapping the bare key drops whatever extra members a JWK file carried (key_ops, x5c,
    its own kid...), and the ``alg``/``use`` parameters make joserfc itself refuse to use
    the key with any other algorithm.
    """
    key: OKPKey | ECKey
    if isinstance(native, Ed25519PrivateKey):
        alg = "EdDSA"
        key = OKPKey.import_key(native, {"alg": alg, "use": "sig"})
    elif isinstance(native, ec.EllipticCurvePrivateKey) and isinstance(native.curve, ec.SECP256R1):
        alg = "ES256"
        key = ECKey.import_key(native, {"alg": alg, "use": "sig"})
    else:
        raise KeyConfigError(f"{source}: unsupported key type (need Ed25519 or EC P-256)")
    return SigningKey(kid=key.thumbprint(), alg=alg, state=state, key=key)


def _native_from_pem(data: bytes, source: str) -> object:
    try:
        return load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyConfigError(f"{source}: encrypted PEM keys are not supported") from None
    except (ValueError, UnsupportedAlgorithm) as err:
        # `from None` and only the type name: library messages may quote the input.
        raise KeyConfigError(f"{source}: not a readable PEM private key ({type(err).__name__})") from None


def _native_from_jwk(data: bytes, source: str) -> tuple[object, object]:
    """The private key and the JWK's declared ``alg`` (None when absent)."""
    try:
        value: Any = json.loads(data)
    except ValueError:
        raise KeyConfigError(f"{source}: not valid JSON") from None
    if not isinstance(value, dict) or "keys" in value:
        raise KeyConfigError(f"{source}: expected a single JWK object")
    if "d" not in value:
        raise KeyConfigError(f"{source}: not a private key (no 'd' member)")
    try:
        key = import_key(value)
    except (JoseError, ValueError, TypeError, KeyError) as err:
        raise KeyConfigError(f"{source}: invalid JWK ({type(err).__name__})") from None
    if value.get("use", "sig") != "sig":
        raise KeyConfigError(f"{source}: JWK 'use' must be 'sig'")
    return key.private_key, value.get("alg")


def load_key(path: Path, state: KeyState) -> SigningKey:
    """Load a private key from a PEM or JWK JSON file; the format is told by the content."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise KeyConfigError(f"{path}: cannot read key file ({err.strerror})") from None
    text = data.lstrip()
    declared: object = None
    if text.startswith(b"-----BEGIN"):
        native = _native_from_pem(data, str(path))
    elif text.startswith(b"{"):
        native, declared = _native_from_jwk(data, str(path))
    else:
        raise KeyConfigError(f"{path}: neither a PEM nor a JWK key file")
    key = _wrap(native, state, str(path))
    if declared is not None and declared != key.alg:
        raise KeyConfigError(f"{path}: JWK 'alg' does not match its key type ({key.alg})")
    return key


def load_key_manifest(path: Path) -> KeyRing:
    """A key ring from a manifest: a JSON (or YAML) list of ``{"path": ..., "state": ...}``;
    relative paths are relative to the manifest. Re-read on every key reload."""
    import yaml

    try:
        entries: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise KeyConfigError(f"{path}: cannot read key manifest ({err.strerror})") from None
    except yaml.YAMLError:
        raise KeyConfigError(f"{path}: not valid JSON or YAML") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "path" in e for e in entries):
        raise KeyConfigError(f"{path}: expected a list of {{path, state}} entries")
    keys = []
    for entry in entries:
        try:
            state = KeyState(entry.get("state", "active"))
        except ValueError:
            raise KeyConfigError(f"{path}: a key's state must be next, active or retired") from None
        keys.append(load_key(path.parent / str(entry["path"]), state))
    return KeyRing(keys)


def generate_key(alg: str = "EdDSA", *, state: KeyState = KeyState.next) -> SigningKey:
    """A new private key. New keys default to ``next``: publish before signing."""
    if alg == "EdDSA":
        return _wrap(Ed25519PrivateKey.generate(), state, "generated key")
    if alg == "ES256":
        return _wrap(ec.generate_private_key(ec.SECP256R1()), state, "generated key")
    raise KeyConfigError(f"unsupported algorithm {alg!r} (choose from {SUPPORTED_ALGORITHMS})")


def write_key(key: SigningKey, path: Path, fmt: Literal["pem", "jwk"]) -> None:
    """Write the private key, readable by the owner only; an existing file is never replaced."""
    if fmt == "pem":
        data = key.key.as_pem(private=True)
    elif fmt == "jwk":
        jwk = key.key.as_dict(private=True)
        jwk.update(kid=key.kid, alg=key.alg, use="sig")
        data = (json.dumps(jwk, indent=2) + "\n").encode()
    else:
        raise ValueError(f"unknown key format {fmt!r}")
    try:
        # O_EXCL: overwriting a key file would silently lose a key that may still sign.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyConfigError(f"{path}: already exists, not overwriting a key file") from None
    except OSError as err:
        raise KeyConfigError(f"{path}: cannot create key file ({err.strerror})") from None
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)  # exact mode whatever the umask
        fh.write(data)


class KeyRing:
    """The keys this instance signs with and publishes. A rotation loads a whole new ring and
    ``adopt``s it: the signer, verifier and JWKS holding this ring see the new keys at once."""

    def __init__(self, keys: Iterable[SigningKey]) -> None:
        self._keys = tuple(keys)
        active = [k for k in self._keys if k.state is KeyState.active]
        if len(active) != 1:
            raise KeyConfigError(f"exactly one active signing key is required, found {len(active)}")
        self._by_kid = {k.kid: k for k in self._keys}
        if len(self._by_kid) != len(self._keys):
            raise KeyConfigError("the key ring holds the same key (kid) more than once")
        self._active = active[0]
        self._algorithms = frozenset(k.alg for k in self._keys)

    def adopt(self, other: KeyRing) -> None:
        """Take ``other``'s keys. Called on the event loop, with no await in between, so no
        request ever sees half of each ring; ``other`` was validated when it was built."""
        self._keys, self._by_kid = other._keys, other._by_kid
        self._active, self._algorithms = other._active, other._algorithms

    @classmethod
    def development(cls) -> KeyRing:
        """One in-memory Ed25519 key. Tokens die with the process; the caller warns loudly."""
        return cls([generate_key("EdDSA", state=KeyState.active)])

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        return self._keys

    @property
    def signing_key(self) -> SigningKey:
        return self._active

    @property
    def algorithms(self) -> frozenset[str]:
        return self._algorithms

    def find(self, kid: str) -> SigningKey | None:
        return self._by_kid.get(kid)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        # next keys are published before they sign, retired ones until their tokens expire.
        return {"keys": [k.public_jwk() for k in self._keys]}
