"""The service's public keys, from its JWKS (``/.well-known/jwks.json``).

Each key is pinned to the one algorithm its JWK names (``EdDSA`` with an Ed25519 key, ``ES256``
with a P-256 key): a token or bundle naming another algorithm for that ``kid`` is refused.
Entries of another kind are skipped, so a JWKS that later gains new key types still loads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import ECKey, OKPKey
from joserfc.jws import JWSRegistry

SUPPORTED = {"EdDSA": ("OKP", "Ed25519"), "ES256": ("EC", "P-256")}
KID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: str
    alg: str
    key: OKPKey | ECKey = field(repr=False)
    # The algorithm model itself: verifying through it never consults a header's choice.
    model: JWSAlgModel = field(repr=False)

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        return bool(self.model.verify(signing_input, signature, self.key))


class KeySet:
    """The keys of one JWKS document, by ``kid``."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        entries = jwks.get("keys")
        if not isinstance(entries, list):
            raise ValueError("not a JWKS: no keys list")
        self._by_kid: dict[str, PublicKey] = {}
        prints: dict[str, str] = {}
        for jwk in entries:
            key = _public_key(jwk)
            if key is not None:
                self._by_kid[key.kid] = key
                prints[key.kid] = json.dumps([key.kid, key.alg, jwk.get("x"), jwk.get("y")])
        # The keys as loaded (kid, algorithm, public point), in kid order: equal for equal key sets.
        self.fingerprint = ",".join(prints[kid] for kid in sorted(prints))

    @classmethod
    def from_json(cls, text: str | bytes) -> KeySet:
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError("not a JWKS: not a JSON object")
        return cls(value)

    def find(self, kid: str) -> PublicKey | None:
        return self._by_kid.get(kid)

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._by_kid)


def _public_key(jwk: object) -> PublicKey | None:
    if not isinstance(jwk, dict):
        return None
    kid, alg, use = jwk.get("kid"), jwk.get("alg"), jwk.get("use", "sig")
    if not isinstance(kid, str) or KID.fullmatch(kid) is None or use != "sig" or alg not in SUPPORTED:
        return None
    kty, crv = SUPPORTED[alg]
    if jwk.get("kty") != kty or jwk.get("crv") != crv or "d" in jwk:
        return None
    public = {name: jwk[name] for name in ("kty", "crv", "x", "y") if name in jwk}
    try:
        key: OKPKey | ECKey = OKPKey.import_key(public) if kty == "OKP" else ECKey.import_key(public)
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    return PublicKey(kid, alg, key, JWSRegistry.algorithms[alg])
