"""Issuer certificate chains, validated by ``cryptography.x509.verification`` at a given time.

The chain is leaf first (as in COSE ``x5chain`` and JOSE ``x5c``). cryptography builds the path
from the leaf through the presented certificates to a configured trust anchor and checks, at
``now`` (the presentation time, never the wall clock): every signature; every validity window,
the anchor's included; basicConstraints (issuers are CAs, path lengths hold); keyUsage; and
that no certificate carries a critical extension the policy does not account for (RFC 5280).

Its extension policies start from the Web PKI defaults less what only TLS needs, which an mdoc
IACA chain (ISO/IEC 18013-5 Annex B) or an SD-JWT VC issuer cannot meet: a ``subjectAltName``
naming a host, and an ``extendedKeyUsage`` of TLS client authentication (a document signer
carries the mdoc one, 1.0.18013.5.1.2). In their place the signer, if it states a keyUsage,
must be allowed digitalSignature, and it must not be a CA. Only EC P-256 signer keys are
accepted (ES256 is the profile's suite).

Pinned signer keys stand in for an anchor where an issuer publishes its document signer's key
but no IACA: a leaf certificate carrying a pinned key is trusted by its key, and only its own
validity window is checked (nothing above it is known).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import (
    ClientVerifier,
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from providers.credentials.errors import CREDENTIAL_EXPIRED, MALFORMED, UNTRUSTED_ISSUER, Rejected

MAX_CHAIN = 4  # certificates presented, leaf included; also the path's depth limit


def _may_sign(policy: Policy, cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    """A signer that states its key usage must be allowed to sign (RFC 5280 §4.2.1.3)."""
    if usage is not None and not usage.digital_signature:
        raise ValueError("the signer's keyUsage does not allow digitalSignature")


_CA_POLICY = ExtensionPolicy.webpki_defaults_ca().may_be_present(
    x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None
)
_SIGNER_POLICY = (
    ExtensionPolicy.webpki_defaults_ee()
    .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)
    .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, _may_sign)
)


class TrustList:
    def __init__(
        self, anchors: Iterable[x509.Certificate], pinned_keys: Iterable[ec.EllipticCurvePublicKey] = ()
    ) -> None:
        self._anchors = list(anchors)
        self._pinned = frozenset(_spki(k) for k in pinned_keys)
        if not self._anchors and not self._pinned:
            raise ValueError("a trust list needs at least one anchor or pinned key")
        for anchor in self._anchors:
            if not _is_ca(anchor):
                raise ValueError("a trust anchor must be a CA certificate")
        self._store = Store(self._anchors) if self._anchors else None

    @classmethod
    def from_pem(cls, pems: Iterable[bytes], pinned: Iterable[bytes] = ()) -> TrustList:
        keys = []
        for pem in pinned:
            key = serialization.load_pem_public_key(pem)
            if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
                raise ValueError("a pinned issuer key must be an EC P-256 public key")
            keys.append(key)
        return cls((c for pem in pems for c in x509.load_pem_x509_certificates(pem)), keys)

    def verify_chain(self, chain: list[x509.Certificate], now: datetime) -> ec.EllipticCurvePublicKey:
        """The leaf's public key once a path reaches an anchor; raises ``Rejected`` otherwise.

        ``credential_expired`` when the only fault is time (a presented certificate outside its
        validity at ``now``, the path sound when all were valid); ``untrusted_issuer`` for
        everything else: no path to an anchor, an issuer that is not a CA, a path too long, a
        key usage or critical extension that does not fit."""
        if not chain or len(chain) > MAX_CHAIN:
            raise Rejected(MALFORMED)
        if self._pinned and _spki(chain[0].public_key()) in self._pinned:
            return self._pinned_leaf(chain[0], now)
        if self._store is None:
            raise Rejected(UNTRUSTED_ISSUER)
        try:
            path = self._verifier(now).verify(chain[0], chain[1:]).chain
        except VerificationError:
            raise Rejected(self._why(chain, now)) from None
        except ValueError:  # an extension that does not parse
            raise Rejected(MALFORMED) from None
        key = path[0].public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise Rejected(UNTRUSTED_ISSUER)
        return key

    @staticmethod
    def _pinned_leaf(leaf: x509.Certificate, now: datetime) -> ec.EllipticCurvePublicKey:
        # The operator vouches for the key itself: the certificate only carries it, so its
        # extensions are not read (some issuers' test signers carry ones that do not parse).
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            raise Rejected(CREDENTIAL_EXPIRED)
        key = leaf.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)  # noqa: S101 - pinned keys are EC P-256
        return key

    def _verifier(self, at: datetime) -> ClientVerifier:
        assert self._store is not None  # noqa: S101 - only called with anchors
        return (
            PolicyBuilder()
            .store(self._store)
            .time(at)
            .max_chain_depth(MAX_CHAIN)
            .extension_policies(ca_policy=_CA_POLICY, ee_policy=_SIGNER_POLICY)
            .build_client_verifier()
        )

    def _why(self, chain: list[x509.Certificate], now: datetime) -> str:
        # The verifier's messages are not a stable interface: ask it again instead. A chain that
        # holds at the latest start of its certificates' validity is sound, only out of date.
        if all(c.not_valid_before_utc <= now <= c.not_valid_after_utc for c in chain):
            return UNTRUSTED_ISSUER
        then = max(c.not_valid_before_utc for c in chain)
        try:
            self._verifier(then).verify(chain[0], chain[1:])
        except (VerificationError, ValueError):
            return UNTRUSTED_ISSUER
        return CREDENTIAL_EXPIRED


def _spki(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return b""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


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
