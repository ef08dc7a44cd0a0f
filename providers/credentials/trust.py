"""Issuer certificate chains checked against configured trust anchors, at a given time.

The chain is leaf first (as in COSE ``x5chain`` and JOSE ``x5c``). Each certificate must be
signed by the next, the last by a trust anchor (or be one); every certificate must be valid at
``now``; issuers must be CAs. Only EC P-256 leaf keys are accepted (ES256 is the profile's suite).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from providers.credentials.errors import CREDENTIAL_EXPIRED, MALFORMED, UNTRUSTED_ISSUER, Rejected

MAX_CHAIN = 4


class TrustList:
    def __init__(self, anchors: Iterable[x509.Certificate]) -> None:
        self._anchors = list(anchors)
        if not self._anchors:
            raise ValueError("a trust list needs at least one anchor")
        for anchor in self._anchors:
            if not _is_ca(anchor):
                raise ValueError("a trust anchor must be a CA certificate")

    @classmethod
    def from_pem(cls, pems: Iterable[bytes]) -> TrustList:
        return cls(c for pem in pems for c in x509.load_pem_x509_certificates(pem))

    def verify_chain(self, chain: list[x509.Certificate], now: datetime) -> ec.EllipticCurvePublicKey:
        """The leaf's public key once the chain reaches an anchor; raises ``Rejected`` otherwise."""
        if not chain or len(chain) > MAX_CHAIN:
            raise Rejected(MALFORMED)
        for cert in chain:
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                raise Rejected(CREDENTIAL_EXPIRED)
        for cert, issuer in itertools.pairwise(chain):
            if not _is_ca(issuer) or not _signed_by(cert, issuer):
                raise Rejected(UNTRUSTED_ISSUER)
        top = chain[-1]
        if not any(top == a or _signed_by(top, a) for a in self._anchors):
            raise Rejected(UNTRUSTED_ISSUER)
        if not any(top == a for a in self._anchors):
            anchor = next(a for a in self._anchors if _signed_by(top, a))
            if not anchor.not_valid_before_utc <= now <= anchor.not_valid_after_utc:
                raise Rejected(UNTRUSTED_ISSUER)
        key = chain[0].public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise Rejected(UNTRUSTED_ISSUER)
        return key


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return bc.ca


def load_der_chain(ders: Iterable[bytes]) -> list[x509.Certificate]:
    try:
        return [x509.load_der_x509_certificate(d) for d in ders]
    except ValueError:
        raise Rejected(MALFORMED) from None
