"""Signed checkpoints: an Ed25519 signature over each checkpoint's place in its chain.

The hash chain shows edits, gaps and reordering, and the checkpoint file shows a cut tail, but
both are plain hashes: whoever can rewrite the log and the checkpoint file can recompute every
hash. A checkpoint's signature cannot be recomputed without the private key. It covers the
chain id, the checkpoint's position (``seq`` = ``count``, the events before it) and ``head``
(the hash of the last of them), so a rewritten history needs a signature of a new head.

The public keys are served at ``/.well-known/audit-keys.json`` (a JWKS, ``kid`` = RFC 7638
thumbprint), apart from the token JWKS: a checkpoint key must never verify a token. A rotation
signs with the new key and keeps publishing the old ones (``checkpoint_published_keys``): each
checkpoint names its ``kid``, so a log that spans the rotation verifies against the one JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_DOMAIN = b"ageband-audit-checkpoint-v1\x00"
SIGNED_FIELDS = ("chain", "seq", "count", "head")


class CheckpointKeyError(ValueError):
    """A key file that is not an Ed25519 key, or a JWKS without one."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    x = _b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    members = {"crv": "Ed25519", "kty": "OKP", "x": x}  # RFC 7638: required members, sorted
    kid = _b64(hashlib.sha256(json.dumps(members, separators=(",", ":")).encode()).digest())
    return {**members, "kid": kid, "alg": "EdDSA", "use": "sig"}


def signed_message(event: Mapping[str, Any]) -> bytes:
    body = {k: event.get(k) for k in SIGNED_FIELDS}
    return _DOMAIN + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


class CheckpointSigner:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key()
        self.jwk = public_jwk(self.public_key)
        self.kid = self.jwk["kid"]

    @classmethod
    def generate(cls) -> CheckpointSigner:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_file(cls, path: Path) -> CheckpointSigner:
        """An Ed25519 private key in PEM (PKCS#8), e.g. ``ageband keys generate --alg EdDSA``."""
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise CheckpointKeyError(
                f"{path}: not a readable PEM private key ({type(exc).__name__})"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointKeyError(f"{path}: the checkpoint key must be Ed25519")
        return cls(key)

    def sign(self, event: Mapping[str, Any]) -> str:
        return _b64(self._key.sign(signed_message(event)))

    def jwks(self, earlier: Mapping[str, Ed25519PublicKey] | None = None) -> dict[str, list[dict[str, str]]]:
        """The signing key first, then the earlier keys still published (each once)."""
        keys = [dict(self.jwk)]
        keys += [public_jwk(k) for kid, k in (earlier or {}).items() if kid != self.kid]
        return {"keys": keys}


def load_public_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """Public checkpoint keys by kid, from a JWKS as served (JSON), a PEM public key, or a PEM
    private key (a retired signing key: only its public half is kept)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointKeyError(f"{path}: cannot read ({exc.strerror})") from None
    if data.lstrip().startswith(b"{"):
        return _from_jwks(path, data)
    if b"PRIVATE KEY-----" in data:
        retired = CheckpointSigner.from_file(path)
        return {retired.kid: retired.public_key}
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise CheckpointKeyError(f"{path}: neither a JWKS nor a PEM key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointKeyError(f"{path}: the checkpoint key must be Ed25519")
    return {public_jwk(key)["kid"]: key}


def _from_jwks(path: Path, data: bytes) -> dict[str, Ed25519PublicKey]:
    try:
        doc = json.loads(data)
        found: dict[str, Ed25519PublicKey] = {}
        for jwk in doc["keys"]:
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                continue
            x = jwk["x"]
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            key = Ed25519PublicKey.from_public_bytes(raw)
            found[public_jwk(key)["kid"]] = key  # the kid is recomputed, never taken on trust
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CheckpointKeyError(f"{path}: not a JWKS of Ed25519 keys") from None
    if not found:
        raise CheckpointKeyError(f"{path}: the JWKS holds no Ed25519 key")
    return found


def checkpoint_problem(event: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    """None when a published key signed this checkpoint; else what is wrong (a stable code)."""
    kid, sig = event.get("kid"), event.get("sig")
    if not isinstance(kid, str) or not isinstance(sig, str):
        return "checkpoint_unsigned"
    key = keys.get(kid)
    if key is None:
        return "checkpoint_unknown_key"
    try:
        key.verify(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)), signed_message(event))
    except (InvalidSignature, ValueError):
        return "checkpoint_forged"
    return None
