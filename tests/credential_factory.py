"""Test credentials made with the reference libraries, signed by a PKI made here.

- mdocs: ``pymdoccbor`` issues the MSO and IssuerSigned part; the device signature over the
  OpenID4VP SessionTranscript is made with ``pycose``, an independent COSE implementation.
- SD-JWT VCs: the IETF reference implementation ``sd-jwt`` issues and presents them.

Certificates: a root CA (the trust anchor), an intermediate CA and a document signer, with the
extensions of the ISO/IEC 18013-5 Annex B profile: key identifiers, keyUsage (keyCertSign and
cRLSign for CAs, digitalSignature for the signer) and the signer's mdoc extendedKeyUsage.
``chain_cert`` makes any other certificate, for the chain tests.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto.jwk import JWK
from pycose.algorithms import Es256
from pycose.headers import Algorithm
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import Sign1Message
from pymdoccbor.mdoc.issuer import MdocCborIssuer
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer

from providers.credentials.trust import TrustList

AV = "eu.europa.ec.av.1"
AUDIENCE = "x509_san_dns:verifier.ageband.test"
RESPONSE_URI = "https://verifier.ageband.test/presentations"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


MDOC_DS = x509.ObjectIdentifier("1.0.18013.5.1.2")  # id-mdl-kp-mdlDS


def key_usage(*, sign: bool = False, certs: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=certs, crl_sign=certs,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def chain_cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool,
    not_before: datetime,
    not_after: datetime,
    path_length: int | None = None,
    usage: x509.KeyUsage | None = None,
    extra: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> x509.Certificate:
    """A certificate of the profile; ``usage`` replaces its keyUsage, ``extra`` adds extensions
    (with their criticality)."""
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
        .add_extension(usage or key_usage(sign=not ca, certs=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
        builder = builder.add_extension(aki, critical=False)
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([MDOC_DS]), critical=True)
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Pki:
    root: x509.Certificate
    intermediate: x509.Certificate
    signer: x509.Certificate
    signer_key: ec.EllipticCurvePrivateKey
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def make(cls, name: str = "Test AV", *, signer_days: int = 365) -> Pki:
        now = datetime.now(UTC) - timedelta(days=1)
        root_key, int_key, ds_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
        root = chain_cert(
            f"{name} Root", root_key, None, ca=True, not_before=now, not_after=now + timedelta(3650)
        )
        inter = chain_cert(
            f"{name} CA", int_key, (f"{name} Root", root_key), ca=True, not_before=now,
            not_after=now + timedelta(1825),
        )  # fmt: skip
        signer = chain_cert(
            f"{name} Signer", ds_key, (f"{name} CA", int_key), ca=False, not_before=now,
            not_after=now + timedelta(signer_days),
        )  # fmt: skip
        return cls(root, inter, signer, ds_key)

    @property
    def trust(self) -> TrustList:
        return TrustList([self.root])

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.signer, self.intermediate]

    def config(self, **overrides: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "audience": AUDIENCE,
            "response_uri": RESPONSE_URI,
            "trust_anchors": [pem(self.root)],
        }
        base.update(overrides)
        return base


def _d(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_numbers().private_value.to_bytes(32, "big")


def _xy(key: ec.EllipticCurvePublicKey) -> tuple[bytes, bytes]:
    n = key.public_numbers()
    return n.x.to_bytes(32, "big"), n.y.to_bytes(32, "big")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- mdoc ------------------------------------------------------------------------------------


def session_transcript(
    audience: str, nonce: str, response_uri: str, thumbprint: bytes | None = None
) -> list[Any]:
    """OpenID4VP 1.0 B.2.6.1: the redirect handover (``thumbprint``: of the response encryption
    key, when the response is encrypted)."""
    info = cbor2.dumps([audience, nonce, thumbprint, response_uri])
    return [None, None, ["OpenID4VPHandover", hashlib.sha256(info).digest()]]


def dc_api_transcript(origin: str, nonce: str, thumbprint: bytes | None = None) -> list[Any]:
    """OpenID4VP 1.0 B.2.6.2: the Digital Credentials API handover."""
    info = cbor2.dumps([origin, nonce, thumbprint])
    return [None, None, ["OpenID4VPDCAPIHandover", hashlib.sha256(info).digest()]]


def issue_mdoc(
    pki: Pki,
    claims: dict[str, Any],
    device_key: ec.EllipticCurvePrivateKey,
    *,
    doc_type: str = AV,
    issued: datetime | None = None,
    expires: datetime | None = None,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A signed mdoc (pymdoccbor's ``{"version", "documents": [...]}``), issuerSigned part only.

    ``status`` (``{"status_list": {"idx", "uri"}}``) goes into the MSO: pymdoccbor's
    ``revocation`` (its ``status`` argument is the DeviceResponse's, not the MSO's)."""
    issued = issued or datetime.now(UTC) - timedelta(days=1)
    expires = expires or datetime.now(UTC) + timedelta(days=90)
    x, y = _xy(device_key.public_key())
    issuer = MdocCborIssuer(
        private_key={"KTY": "EC2", "CURVE": "P_256", "ALG": "ES256", "D": _d(pki.signer_key), "KID": b"ds"},
        alg="ES256",
    )
    signed: dict[str, Any] = issuer.new(
        data={doc_type: claims},
        doctype=doc_type,
        validity={"issuance_date": issued.strftime("%Y-%m-%d"), "expiry_date": expires.strftime("%Y-%m-%d")},
        devicekeyinfo={1: 2, -1: 1, -2: x, -3: y},
        x509_chain=pki.chain,
        revocation=status,
    )
    return signed


def present_mdoc(
    signed: dict[str, Any],
    device_key: ec.EllipticCurvePrivateKey,
    nonce: str,
    *,
    audience: str = AUDIENCE,
    response_uri: str = RESPONSE_URI,
    transcript: list[Any] | None = None,
) -> str:
    """A DeviceResponse with the device signature over the OpenID4VP SessionTranscript (or the
    one given), base64url."""
    doc = dict(signed["documents"][0])
    device_ns = cbor2.CBORTag(24, cbor2.dumps({}))
    authentication = [
        "DeviceAuthentication",
        transcript or session_transcript(audience, nonce, response_uri),
        doc["docType"],
        device_ns,
    ]
    detached = cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(authentication)))
    x, y = _xy(device_key.public_key())
    msg = Sign1Message(phdr={Algorithm: Es256}, payload=None)
    msg.key = EC2Key(crv=P256, x=x, y=y, d=_d(device_key))
    device_signature = cbor2.loads(msg.encode(tag=False, detached_payload=detached))
    doc["deviceSigned"] = {"nameSpaces": device_ns, "deviceAuth": {"deviceSignature": device_signature}}
    response = {"version": "1.0", "documents": [doc], "status": 0}
    return b64url(cbor2.dumps(response))


def mdoc_presentation(pki: Pki, claims: dict[str, Any], nonce: str, **kw: Any) -> str:
    device = ec.generate_private_key(ec.SECP256R1())
    return present_mdoc(issue_mdoc(pki, claims, device, **kw), device, nonce)


# --- SD-JWT VC -------------------------------------------------------------------------------


def _jwk(key: ec.EllipticCurvePrivateKey) -> JWK:
    return JWK.from_pem(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))  # fmt: skip


def issue_sd_jwt(
    pki: Pki,
    claims: dict[str, Any],
    holder_key: ec.EllipticCurvePrivateKey,
    *,
    vct: str = AV,
    typ: str = "dc+sd-jwt",
    exp: datetime | None = None,
    clear: tuple[str, ...] = (),
    status: dict[str, Any] | None = None,
) -> str:
    """An SD-JWT VC issuance: every claim selectively disclosable except those in ``clear``;
    ``status`` (``{"status_list": {"idx", "uri"}}``) in clear, as SD-JWT VC has it."""
    now = datetime.now(UTC)
    exp = exp or now + timedelta(days=90)
    holder_public = JWK.from_pem(holder_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    user_claims: dict[Any, Any] = {
        "iss": "https://issuer.ageband.test",
        "vct": vct,
        "iat": int(now.timestamp()) - 60,
        "exp": int(exp.timestamp()),
        "cnf": {"jwk": holder_public.export_public(as_dict=True)},
    }
    if status is not None:
        user_claims["status"] = status
    for name, value in claims.items():
        user_claims[name if name in clear else SDObj(name)] = value
    x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in pki.chain]
    issuer = SDJWTIssuer(
        user_claims, _jwk(pki.signer_key), sign_alg="ES256", extra_header_parameters={"typ": typ, "x5c": x5c}
    )
    issuance: str = issuer.sd_jwt_issuance
    return issuance


def present_sd_jwt(
    issuance: str,
    holder_key: ec.EllipticCurvePrivateKey,
    nonce: str,
    disclose: dict[str, bool] | None = None,
    *,
    audience: str = AUDIENCE,
) -> str:
    holder = SDJWTHolder(issuance)
    holder.create_presentation(disclose or {}, nonce=nonce, aud=audience, holder_key=_jwk(holder_key))
    presentation: str = holder.sd_jwt_presentation
    return presentation


def sd_jwt_presentation(pki: Pki, claims: dict[str, Any], nonce: str, **kw: Any) -> str:
    holder = ec.generate_private_key(ec.SECP256R1())
    issuance = issue_sd_jwt(pki, claims, holder, **kw)
    return present_sd_jwt(issuance, holder, nonce, dict.fromkeys(claims, True))


# --- the verifier's own request signing certificate ----------------------------------------


def verifier_signing(dns: str = "verifier.ageband.test") -> dict[str, Any]:
    """A request signing key and a self-issued certificate naming ``dns`` (x509_san_dns)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(dns))
        .issuer_name(_name(dns))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {"key": pem_key, "certificates": [pem(cert)], "cert": cert}
