"""COSE_Sign1 (RFC 9052 §4.4) verification, pinned to ES256.

Written here rather than through a COSE library: the mdoc profile needs only ES256, a
detached payload (the device signature) and the ``x5chain`` header, and pinning the algorithm
is simplest where the Sig_structure is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from providers.credentials.errors import INVALID_SIGNATURE, MALFORMED, Rejected

ES256 = -7
ALG = 1
X5CHAIN = 33
COSE_SIGN1_TAG = 18


@dataclass(frozen=True, slots=True)
class Sign1:
    protected_raw: bytes
    protected: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    payload: bytes | None
    signature: bytes

    def header(self, label: int) -> Any:
        return self.protected.get(label, self.unprotected.get(label))


def parse_sign1(value: Any) -> Sign1:
    if isinstance(value, cbor2.CBORTag) and value.tag == COSE_SIGN1_TAG:
        value = value.value
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise Rejected(MALFORMED)
    protected_raw, unprotected, payload, signature = value
    if not isinstance(protected_raw, bytes) or not isinstance(unprotected, Mapping):
        raise Rejected(MALFORMED)
    if not isinstance(signature, bytes) or not (payload is None or isinstance(payload, bytes)):
        raise Rejected(MALFORMED)
    try:
        protected = cbor2.loads(protected_raw) if protected_raw else {}
    except (cbor2.CBORDecodeError, ValueError):
        raise Rejected(MALFORMED) from None
    if not isinstance(protected, Mapping):
        raise Rejected(MALFORMED)
    return Sign1(protected_raw, protected, unprotected, payload, signature)


def verify_es256(msg: Sign1, key: ec.EllipticCurvePublicKey, detached: bytes | None = None) -> bytes:
    """Check the signature over the message's payload (or ``detached``); returns that payload."""
    # The algorithm must be in the protected header, so it is covered by the signature.
    if msg.protected.get(ALG) != ES256:
        raise Rejected(INVALID_SIGNATURE)
    payload = detached if msg.payload is None else msg.payload
    if payload is None or (detached is not None and msg.payload is not None):
        raise Rejected(MALFORMED)
    if len(msg.signature) != 64:
        raise Rejected(INVALID_SIGNATURE)
    to_be_signed = cbor2.dumps(["Signature1", msg.protected_raw, b"", payload])
    r, s = int.from_bytes(msg.signature[:32], "big"), int.from_bytes(msg.signature[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), to_be_signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Rejected(INVALID_SIGNATURE) from None
    return payload
