"""ISO/IEC 18013-5 mdoc presentations of the EU age-verification profile (``eu.europa.ec.av.1``).

Checks, in order: the DeviceResponse shape; the issuer's ``x5chain`` against the trust list;
the MSO's ES256 signature; the MSO's docType, digest algorithm and validity window; every
disclosed element against its digest; and the device signature over one of the
SessionTranscripts the binding accepts (``providers.credentials.binding``). A device signature
that verifies only over a transcript the binding recognises but does not accept is
``unsupported_handover``; one that verifies over none is ``binding_mismatch``. Only the
``age_over_NN`` elements of the configured namespace are read, and ``age_over_18`` must be among
them. The MSO's ``status`` (a Token Status List entry) is handed back for the provider to check.

A DeviceResponse may hold several documents (a wallet answering a query for more than one);
exactly one must be of the configured docType.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from providers.credentials.age_claims import age_over_claims, interval_of
from providers.credentials.binding import Binding
from providers.credentials.cose import X5CHAIN, Sign1, parse_sign1, verify_es256
from providers.credentials.errors import (
    BINDING_MISMATCH,
    CREDENTIAL_EXPIRED,
    MALFORMED,
    TAMPERED,
    UNSUPPORTED_HANDOVER,
    WRONG_TYPE,
    Rejected,
)
from providers.credentials.status import StatusReference, status_reference
from providers.credentials.trust import TrustList, load_der_chain
from service.core.intervals import AgeInterval

AV_DOCTYPE = "eu.europa.ec.av.1"
CLOCK_SKEW = timedelta(seconds=30)
TAG_ENCODED_CBOR = 24
MAX_DOCUMENTS = 8


def verify_mdoc(
    raw: bytes,
    trust: TrustList,
    binding: Binding,
    now: datetime,
    doc_type: str = AV_DOCTYPE,
    namespace: str | None = None,
) -> tuple[AgeInterval, StatusReference | None]:
    """The interval the disclosed claims imply, and the MSO's status list entry (if any)."""
    return verify_mdoc_over(
        raw, trust, binding.transcripts(), binding.unsupported_transcripts(), now, doc_type, namespace
    )


def verify_mdoc_over(
    raw: bytes,
    trust: TrustList,
    transcripts: Sequence[Any],
    unsupported: Sequence[Any],
    now: datetime,
    doc_type: str = AV_DOCTYPE,
    namespace: str | None = None,
) -> tuple[AgeInterval, StatusReference | None]:
    """As ``verify_mdoc``, with the accepted SessionTranscripts given (e.g. a vector's own)."""
    doc = _document(_loads(raw), doc_type)
    issuer_signed, device_signed = doc.get("issuerSigned"), doc.get("deviceSigned")
    if not isinstance(issuer_signed, Mapping) or not isinstance(device_signed, Mapping):
        raise Rejected(MALFORMED)

    auth = parse_sign1(issuer_signed.get("issuerAuth"))
    chain = auth.header(X5CHAIN)
    ders = [chain] if isinstance(chain, bytes) else chain
    if not isinstance(ders, list | tuple) or not all(isinstance(d, bytes) for d in ders):
        raise Rejected(MALFORMED)
    issuer_key = trust.verify_chain(load_der_chain(ders), now)
    mso = _embedded(_loads(verify_es256(auth, issuer_key)))
    if not isinstance(mso, Mapping) or mso.get("digestAlgorithm") != "SHA-256":
        raise Rejected(MALFORMED)
    if mso.get("docType") != doc_type:
        raise Rejected(WRONG_TYPE)
    _check_validity(mso.get("validityInfo"), now)

    elements = _disclosed(issuer_signed.get("nameSpaces"), mso.get("valueDigests"), namespace or doc_type)
    _check_device_auth(device_signed, mso, doc_type, transcripts, unsupported)
    return interval_of(age_over_claims(elements), required=18), status_reference(mso)


def _document(response: Any, doc_type: str) -> Mapping[Any, Any]:
    if not isinstance(response, Mapping) or response.get("version") != "1.0":
        raise Rejected(MALFORMED)
    if response.get("status", 0) != 0:
        raise Rejected(MALFORMED)
    documents = response.get("documents")
    if not isinstance(documents, list | tuple) or not documents or len(documents) > MAX_DOCUMENTS:
        raise Rejected(MALFORMED)
    if not all(isinstance(d, Mapping) for d in documents):
        raise Rejected(MALFORMED)
    ours: list[Mapping[Any, Any]] = [d for d in documents if d.get("docType") == doc_type]
    if not ours:
        raise Rejected(WRONG_TYPE)
    if len(ours) > 1:
        raise Rejected(MALFORMED)  # two credentials of one type: which one proves the age?
    return ours[0]


def _loads(raw: bytes) -> Any:
    try:
        return cbor2.loads(raw)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError):
        raise Rejected(MALFORMED) from None


def _embedded(value: Any) -> Any:
    """The content of a ``#6.24(bstr .cbor X)`` item."""
    if not isinstance(value, cbor2.CBORTag) or value.tag != TAG_ENCODED_CBOR:
        raise Rejected(MALFORMED)
    if not isinstance(value.value, bytes):
        raise Rejected(MALFORMED)
    return _loads(value.value)


def _check_validity(info: Any, now: datetime) -> None:
    if not isinstance(info, Mapping):
        raise Rejected(MALFORMED)
    valid_from, valid_until = info.get("validFrom"), info.get("validUntil")
    if not isinstance(valid_from, datetime) or not isinstance(valid_until, datetime):
        raise Rejected(MALFORMED)
    if valid_from.tzinfo is None or valid_until.tzinfo is None:
        raise Rejected(MALFORMED)
    # A little leeway for a wallet whose clock runs ahead; none past the end of validity.
    if not valid_from.astimezone(UTC) - CLOCK_SKEW <= now <= valid_until.astimezone(UTC):
        raise Rejected(CREDENTIAL_EXPIRED)


def _disclosed(namespaces: Any, digests: Any, doc_type: str) -> dict[str, object]:
    """The disclosed elements of the profile's namespace, each checked against its MSO digest."""
    if not isinstance(namespaces, Mapping) or not isinstance(digests, Mapping):
        raise Rejected(MALFORMED)
    items, ns_digests = namespaces.get(doc_type), digests.get(doc_type)
    if not isinstance(items, list | tuple) or not isinstance(ns_digests, Mapping):
        raise Rejected(MALFORMED)
    out: dict[str, object] = {}
    for tagged in items:
        item = _embedded(tagged)
        if not isinstance(item, Mapping):
            raise Rejected(MALFORMED)
        name, digest_id = item.get("elementIdentifier"), item.get("digestID")
        if not isinstance(name, str) or not isinstance(digest_id, int) or name in out:
            raise Rejected(MALFORMED)
        expected = ns_digests.get(digest_id)
        if expected != hashlib.sha256(cbor2.dumps(tagged)).digest():
            raise Rejected(TAMPERED)
        out[name] = item.get("elementValue")
    return out


def _check_device_auth(
    device_signed: Mapping[Any, Any],
    mso: Mapping[Any, Any],
    doc_type: str,
    transcripts: Sequence[Any],
    unsupported: Sequence[Any],
) -> None:
    device_ns = device_signed.get("nameSpaces")
    device_auth = device_signed.get("deviceAuth")
    if not isinstance(device_auth, Mapping):
        raise Rejected(MALFORMED)
    if "deviceSignature" not in device_auth:
        # A deviceMac needs a reader key agreement (ISO 18013-5 §9.1.3.5) this verifier does not do:
        # a genuine wallet's choice, not a forgery.
        raise Rejected(UNSUPPORTED_HANDOVER if "deviceMac" in device_auth else MALFORMED)
    _embedded(device_ns)  # must be well-formed; device-signed elements are not read
    key_info = mso.get("deviceKeyInfo")
    device_key = _ec2_key(key_info.get("deviceKey") if isinstance(key_info, Mapping) else None)
    signed = parse_sign1(device_auth["deviceSignature"])
    if signed.payload is not None:
        raise Rejected(MALFORMED)
    if any(_signs(signed, device_key, t, doc_type, device_ns) for t in transcripts):
        return
    if any(_signs(signed, device_key, t, doc_type, device_ns) for t in unsupported):
        raise Rejected(UNSUPPORTED_HANDOVER)
    raise Rejected(BINDING_MISMATCH)


def _signs(
    signed: Sign1, key: ec.EllipticCurvePublicKey, transcript: Any, doc_type: str, device_ns: Any
) -> bool:
    authentication = ["DeviceAuthentication", transcript, doc_type, device_ns]
    expected = cbor2.dumps(cbor2.CBORTag(TAG_ENCODED_CBOR, cbor2.dumps(authentication)))
    try:
        verify_es256(signed, key, detached=expected)
    except Rejected:
        return False
    return True


def _ec2_key(cose_key: Any) -> ec.EllipticCurvePublicKey:
    """A COSE_Key of type EC2 on P-256 (kty 2, crv 1)."""
    if not isinstance(cose_key, Mapping) or cose_key.get(1) != 2 or cose_key.get(-1) != 1:
        raise Rejected(MALFORMED)
    x, y = cose_key.get(-2), cose_key.get(-3)
    if not isinstance(x, bytes) or not isinstance(y, bytes) or len(x) != 32 or len(y) != 32:
        raise Rejected(MALFORMED)
    try:
        return ec.EllipticCurvePublicNumbers(
            int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
        ).public_key()
    except ValueError:
        raise Rejected(MALFORMED) from None
