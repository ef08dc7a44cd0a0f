"""``age_credential``: a proof-of-age credential presented from a wallet.

Formats (OpenID4VP names): ``mso_mdoc``, an ISO mdoc DeviceResponse of the EU
age-verification profile (base64url), and ``dc+sd-jwt``, an SD-JWT VC presentation with a
key-binding JWT. Both must be bound to this verifier (``audience``) and to the check's nonce,
which the flow passes in ``ProviderContext.nonce``. Only the ``age_over_NN`` claims are read,
and only the interval they imply leaves this adapter.

Configuration::

    audience: x509_san_dns:verifier.example   # the verifier's client id (required)
    response_uri: https://verifier.example/cb # in the mdoc SessionTranscript (default: audience)
    trust_anchors: [/etc/ageband/av-root.pem] # PEM files or PEM text (required)
    formats: [mso_mdoc, dc+sd-jwt]            # accepted formats (default: both)
    vct: [eu.europa.ec.av.1]                  # accepted SD-JWT VC types
    doc_type: eu.europa.ec.av.1               # the mdoc docType and namespace
    max_presentation_age_seconds: 300         # how old a key-binding JWT may be
    namespace: eu.europa.ec.av.1              # the mdoc namespace (default: doc_type)
    issuer_keys: []                           # pinned signer keys (PEM) where no IACA is published
    client_id_variants: [client_id]           # what wallets sign: client_id, redirect_uri, unprefixed
    origins: [https://app.example]            # web origins allowed to ask over the DC API
    max_presentation_bytes: 131072            # this method's cap on one presentation
    request_signing:                          # signed request objects (JAR); off when absent
      key: /etc/ageband/verifier-key.pem      # EC P-256 private key (PEM file or text)
      certificates: [/etc/ageband/verifier.pem] # its certificate chain, leaf first
    response_encryption: [A128GCM, A256GCM]   # enc values offered for direct_post.jwt / dc_api.jwt
    status:                                   # Token Status List checks (off when absent)
      allowed_uris: [https://issuer.example/status/1]  # the only lists ever fetched
      signing_keys: []                        # PEM keys of the lists (default: x5c to an anchor)
      fail_closed: true                       # a list that cannot be had refuses (or 503s)
      required: false                         # refuse credentials that name no list
      max_cache_seconds: 86400                # cap on a list's ttl/exp in the cache

ageband also hosts the OpenID4VP 1.0 request and response side (``service.flows.wallet``): the
flow hands ``submit_response`` what it knows of the channel (``WalletChannel``) and this provider
binds the presentation to it (``providers.credentials.binding``).

A credential whose status entry is INVALID is refused as ``credential_revoked``, SUSPENDED as
``credential_suspended``; neither counts as circumvention (``providers.credential_status``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.jwk import ECKey
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from providers.base import (
    Failure,
    Flow,
    Outcome,
    ProviderContext,
    Signal,
    Unavailability,
    WalletChannel,
    WalletRequest,
)
from providers.credential_status import STATUS_REASONS, StatusConfig, StatusLists
from providers.credentials.binding import Binding
from providers.credentials.errors import (
    BINDING_MISMATCH,
    FORMAT_NOT_ACCEPTED,
    INVALID_SIGNATURE,
    MALFORMED,
    REASONS,
    TAMPERED,
    UNSUPPORTED_HANDOVER,
    UNTRUSTED_ISSUER,
    Rejected,
)
from providers.credentials.mdoc import AV_DOCTYPE, verify_mdoc
from providers.credentials.sdjwt import verify_sd_jwt
from providers.credentials.trust import TrustList
from providers.evidence import parse_evidence
from service.core import base64url
from service.core.errors import InvalidEvidence

MDOC: Final = "mso_mdoc"
SD_JWT: Final = "dc+sd-jwt"
MDOC_QUERY = "age_mdoc"  # DCQL credential query ids, as the vp_token answers them
SD_JWT_QUERY = "age_sd_jwt"
Format = Literal["mso_mdoc", "dc+sd-jwt"]
_ALL_FORMATS: tuple[Format, ...] = ("mso_mdoc", "dc+sd-jwt")
_QUALIFIERS = {MDOC: "mdoc", SD_JWT: "sd_jwt"}
# A presentation carries one credential. Age-verification credentials are 1.3-1.6 KB, a real mDL
# presentation with a portrait about 38 KB (50 KB as base64url): the default cap admits it, and
# an instance may set its own, up to the hard ceiling every instance shares.
DEFAULT_MAX_PRESENTATION = 128 * 1024
MAX_PRESENTATION = 1024 * 1024
ClientIdVariant = Literal["client_id", "redirect_uri", "unprefixed"]
_VARIANTS: tuple[ClientIdVariant, ...] = ("client_id", "redirect_uri", "unprefixed")
_PREFIXES = (
    "x509_san_dns:", "x509_hash:", "decentralized_identifier:", "verifier_attestation:", "pre-registered:",
)  # fmt: skip
REQUEST_LIFETIME = timedelta(minutes=5)
WALLET_AUDIENCE = "https://self-issued.me/v2"  # a request object's aud (OpenID4VP 1.0 §5.8)
Enc = Literal["A128GCM", "A256GCM"]
_ENCS: tuple[Enc, ...] = ("A128GCM", "A256GCM")  # HAIP 1.0
_DEFAULT_VARIANT: tuple[ClientIdVariant, ...] = ("client_id",)  # OpenID4VP 1.0


class _RequestSigning(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    certificates: list[str] = Field(min_length=1, max_length=4)


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    audience: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    response_uri: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    trust_anchors: list[str] = Field(default_factory=list)
    formats: list[Format] = Field(default_factory=lambda: list(_ALL_FORMATS), min_length=1)
    vct: list[str] = Field(default_factory=lambda: [AV_DOCTYPE], min_length=1)
    doc_type: str = AV_DOCTYPE
    max_presentation_age_seconds: int = Field(default=300, ge=10, le=3600)
    status: StatusConfig | None = None
    namespace: str | None = None
    issuer_keys: list[str] = Field(default_factory=list)
    client_id_variants: list[ClientIdVariant] = Field(
        default_factory=lambda: list(_DEFAULT_VARIANT), min_length=1
    )
    origins: list[Annotated[str, StringConstraints(pattern=r"^https?://[^/?#]+$", max_length=256)]] = Field(
        default_factory=list
    )
    max_presentation_bytes: int = Field(default=DEFAULT_MAX_PRESENTATION, ge=1024, le=MAX_PRESENTATION)
    request_signing: _RequestSigning | None = None
    response_encryption: list[Enc] = Field(default_factory=lambda: list(_ENCS), min_length=1)

    @model_validator(mode="after")
    def _some_trust(self) -> _Config:
        if not self.trust_anchors and not self.issuer_keys:
            raise ValueError("trust_anchors or issuer_keys must name at least one")
        return self


class _Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    method: str | None = Field(default=None, max_length=64)
    format: Format
    # The instances own cap (max_presentation_bytes) is checked after; this is every instances.
    presentation: str = Field(min_length=16, max_length=MAX_PRESENTATION, pattern=r"^[A-Za-z0-9_=~.+/-]+$")


def _pem(source: str) -> bytes:
    if source.lstrip().startswith("-----BEGIN"):
        return source.encode()
    return Path(source).read_bytes()


class AgeCredentialProvider:
    method_class: ClassVar[str] = "age_credential"
    evidence_kinds: ClassVar[tuple[str, ...]] = (MDOC, SD_JWT)
    flow: ClassVar[Flow] = Flow.SUBMIT
    failure_reasons: ClassVar[frozenset[str]] = REASONS | STATUS_REASONS

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        cfg = _Config.model_validate(dict(config))
        self._name = name
        self._cfg = cfg
        pinned = (_pem(k) for k in cfg.issuer_keys)
        self._trust = TrustList.from_pem((_pem(s) for s in cfg.trust_anchors), pinned)
        self._namespace = cfg.namespace or cfg.doc_type
        self._signer = _Signer.load(cfg.request_signing, cfg.audience) if cfg.request_signing else None
        self._formats = frozenset(cfg.formats)
        self._vct = frozenset(cfg.vct)
        self._max_kb_age = timedelta(seconds=cfg.max_presentation_age_seconds)
        self._status = (
            StatusLists(cfg.status, self._trust, (_pem(k) for k in cfg.status.signing_keys))
            if cfg.status is not None
            else None
        )

    @property
    def name(self) -> str:
        return self._name

    def unavailable(self) -> Unavailability | None:
        return None

    def presentation_request(self, nonce: str) -> Mapping[str, Any]:
        """An OpenID4VP-style request: who asks, the nonce, and a DCQL query for age_over_18."""
        return {
            "client_id": self._cfg.audience,
            "response_uri": self._response_uri,
            "nonce": nonce,
            "formats": sorted(self._formats),
            "dcql_query": self._dcql(),
        }

    def _dcql(self) -> dict[str, Any]:
        credentials: list[dict[str, Any]] = []
        if MDOC in self._formats:
            credentials.append(
                {
                    "id": MDOC_QUERY,
                    "format": MDOC,
                    "meta": {"doctype_value": self._cfg.doc_type},
                    "claims": [{"path": [self._namespace, "age_over_18"], "intent_to_retain": False}],
                }
            )
        if SD_JWT in self._formats:
            credentials.append(
                {
                    "id": SD_JWT_QUERY,
                    "format": SD_JWT,
                    "meta": {"vct_values": sorted(self._vct)},
                    # Either spelling: age_over_18, or the PID profile's nested age_equal_or_over.
                    "claims": [
                        {"id": "over_18", "path": ["age_over_18"]},
                        {"id": "equal_or_over_18", "path": ["age_equal_or_over", "18"]},
                    ],
                    "claim_sets": [["over_18"], ["equal_or_over_18"]],
                }
            )
        options = [[c["id"]] for c in credentials]
        return {"credentials": credentials, "credential_sets": [{"options": options}]}

    # --- the hosted OpenID4VP request side -------------------------------------------------

    @property
    def signs_requests(self) -> bool:
        return self._signer is not None

    def allows_origin(self, origin: str) -> bool:
        return origin in self._cfg.origins

    def authorization_request(self, request: WalletRequest, now: datetime) -> Mapping[str, Any]:
        """OpenID4VP 1.0 authorization request parameters (§5): for the request object's claims
        when signed, or to pass by value when not."""
        claims: dict[str, Any] = {
            "response_type": "vp_token",
            "response_mode": request.response_mode,
            "nonce": request.nonce,
            "dcql_query": self._dcql(),
            "client_metadata": self._client_metadata(request.encryption_jwk),
        }
        signed = request.signed and self._signer is not None
        if request.origin is None or signed:
            claims["client_id"] = self._cfg.audience
        if request.response_uri is not None:
            claims["response_uri"] = request.response_uri
        if request.state is not None:
            claims["state"] = request.state
        if request.wallet_nonce is not None:
            claims["wallet_nonce"] = request.wallet_nonce
        if request.origin is not None and signed:
            claims["expected_origins"] = [request.origin]
        if signed:
            issued = int(now.timestamp())
            claims.update(aud=WALLET_AUDIENCE, iat=issued, exp=issued + int(REQUEST_LIFETIME.total_seconds()))
        return claims

    def _client_metadata(self, jwk: Mapping[str, Any] | None) -> dict[str, Any]:
        formats: dict[str, Any] = {}
        if MDOC in self._formats:
            formats[MDOC] = {"issuerauth_alg_values": [-7], "deviceauth_alg_values": [-7]}
        if SD_JWT in self._formats:
            formats[SD_JWT] = {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]}
        meta: dict[str, Any] = {"vp_formats_supported": formats}
        if jwk is not None:
            meta["jwks"] = {"keys": [dict(jwk)]}
            meta["encrypted_response_enc_values_supported"] = list(self._cfg.response_encryption)
        return meta

    @property
    def response_encryption(self) -> tuple[str, ...]:
        return tuple(self._cfg.response_encryption)

    def sign_request(self, claims: Mapping[str, Any]) -> str:
        if self._signer is None:
            raise RuntimeError("this instance has no request signing key")
        return self._signer.sign(claims)

    def _client_ids(self, response_uri: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The client ids a handover may carry (accepted, then recognised but off)."""
        spelled = {
            "client_id": self._cfg.audience,
            "redirect_uri": "redirect_uri:" + response_uri,
            "unprefixed": _unprefixed(self._cfg.audience),
        }
        accepted = tuple(dict.fromkeys(spelled[v] for v in self._cfg.client_id_variants))
        known = tuple(dict.fromkeys(c for v in _VARIANTS if (c := spelled[v]) not in accepted))
        return accepted, known

    async def submit_response(
        self, vp_token: Mapping[str, Any], ctx: ProviderContext, channel: WalletChannel
    ) -> Outcome:
        """A ``vp_token`` (``{query id: [presentation]}``) that reached ageband's own endpoint."""
        fmt, presentation = self._one_presentation(vp_token)
        if ctx.nonce is None:
            return Failure(BINDING_MISMATCH)
        response_uri = channel.response_uri or self._response_uri
        accepted, known = self._client_ids(response_uri)
        binding = Binding(
            accepted, ctx.nonce, response_uri, origin=channel.origin, thumbprint=channel.thumbprint,
            signed=channel.signed, known_client_ids=known,
        )  # fmt: skip
        return await self._verify(fmt, presentation, binding, ctx)

    def _one_presentation(self, vp_token: Mapping[str, Any]) -> tuple[Format, str]:
        """The one presentation of a vp_token, and its format (from our query id, else its shape)."""
        if len(vp_token) != 1:
            raise _invalid("vp_token", "the vp_token must answer exactly one credential query")
        ((query, value),) = vp_token.items()
        items = value if isinstance(value, list) else [value]
        if len(items) != 1 or not isinstance(items[0], str):
            raise _invalid("vp_token", "the vp_token must hold exactly one presentation")
        presentation = items[0]
        if not 16 <= len(presentation) <= MAX_PRESENTATION:
            raise _invalid("vp_token", "the presentation is too short or too long", "string_too_long")
        fmt: Format = SD_JWT if "~" in presentation else MDOC  # a query id not ours: by its shape
        if query == MDOC_QUERY:
            fmt = MDOC
        elif query == SD_JWT_QUERY:
            fmt = SD_JWT
        return fmt, presentation

    @property
    def _response_uri(self) -> str:
        return self._cfg.response_uri or self._cfg.audience

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        """A presentation the app relays (redirect handover over the configured response_uri)."""
        ev = parse_evidence(_Evidence, evidence)
        if ctx.nonce is None:
            return Failure(BINDING_MISMATCH)
        accepted, known = self._client_ids(self._response_uri)
        binding = Binding(accepted, ctx.nonce, self._response_uri, known_client_ids=known)
        return await self._verify(ev.format, ev.presentation, binding, ctx)

    async def _verify(
        self, fmt: Format, presentation: str, binding: Binding, ctx: ProviderContext
    ) -> Outcome:
        if len(presentation) > self._cfg.max_presentation_bytes:
            raise _invalid(
                "presentation", f"String should have at most {self._cfg.max_presentation_bytes} characters",
                "string_too_long",
            )  # fmt: skip
        if fmt not in self._formats:
            return Failure(FORMAT_NOT_ACCEPTED)
        try:
            if fmt == MDOC:
                raw = _canonical_bytes(presentation)
                interval, status = verify_mdoc(
                    raw, self._trust, binding, ctx.now, self._cfg.doc_type, self._namespace
                )
            else:
                interval, status = verify_sd_jwt(
                    presentation, self._trust, binding, ctx.now, self._vct, self._max_kb_age
                )
            # Only a credential that verified is looked up: a forgery costs no request.
            checked = self._status is not None and await self._status.check(status, ctx.now)
        except Rejected as exc:
            # Forged or replayed proofs count against the subject; an expired, revoked or
            # suspended one does not: those are the issuer's decisions about a genuine credential.
            return Failure(exc.reason, circumvention=exc.reason in _CIRCUMVENTION)
        return Signal(
            interval,
            self.method_class,
            _QUALIFIERS[fmt],
            attributes=("age_over", "status") if checked else ("age_over",),
            replay_key=hashlib.sha256(presentation.encode()).hexdigest(),
        )


def _canonical_bytes(presentation: str) -> bytes:
    """Canonical base64url only: the presentation's digest is its single-use marker, so a
    re-encoding of the same bytes (padding, ``+``/``/``, dropped bits) must not pass as new."""
    try:
        return base64url.decode(presentation)
    except ValueError:
        raise Rejected(MALFORMED) from None


# Forged, altered or replayed proofs. Not unsupported_handover: a genuine presentation for this
# check made in a way ageband is not set up for is an interop failure, not the user's doing.
_CIRCUMVENTION = frozenset({UNTRUSTED_ISSUER, INVALID_SIGNATURE, TAMPERED, BINDING_MISMATCH})
assert UNSUPPORTED_HANDOVER not in _CIRCUMVENTION  # noqa: S101 - documents the rule above


def _invalid(field: str, problem: str, kind: str = "value_error") -> InvalidEvidence:
    return InvalidEvidence(
        "the evidence does not fit the method's schema",
        errors=[{"field": field, "type": kind, "problem": problem}],
    )


def _unprefixed(client_id: str) -> str:
    """The client id as pre-1.0 drafts sent it, beside a separate client_id_scheme."""
    for prefix in _PREFIXES:
        if client_id.startswith(prefix):
            return client_id[len(prefix) :]
    return client_id


class _Signer:
    """The request object signer: an EC P-256 key and its certificate chain, which must fit the
    client id (``x509_san_dns``: a dNSName of the leaf; ``x509_hash``: the leaf's SHA-256)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, chain: list[x509.Certificate]) -> None:
        self._key = ECKey.import_key(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self._x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain]

    @classmethod
    def load(cls, cfg: _RequestSigning, client_id: str) -> _Signer:
        key = serialization.load_pem_private_key(_pem(cfg.key), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("request_signing.key must be an EC P-256 private key")
        chain = [c for source in cfg.certificates for c in x509.load_pem_x509_certificates(_pem(source))]
        leaf = chain[0]
        if leaf.public_key() != key.public_key():
            raise ValueError("request_signing: the first certificate is not the key's")
        if client_id.startswith("x509_hash:"):
            digest = base64.urlsafe_b64encode(leaf.fingerprint(hashes.SHA256())).rstrip(b"=").decode()
            if client_id != "x509_hash:" + digest:
                raise ValueError(f"audience must be x509_hash:{digest} for this certificate")
        elif client_id.startswith("x509_san_dns:"):
            try:
                names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            except x509.ExtensionNotFound:
                names = x509.SubjectAlternativeName([])
            if client_id.removeprefix("x509_san_dns:") not in names.get_values_for_type(x509.DNSName):
                raise ValueError("audience's DNS name is not a dNSName of the request signing certificate")
        return cls(key, chain)

    def sign(self, claims: Mapping[str, Any]) -> str:
        header = {"alg": "ES256", "typ": "oauth-authz-req+jwt", "x5c": self._x5c}
        payload = json.dumps(dict(claims), separators=(",", ":")).encode()
        return jws.serialize_compact(header, payload, self._key, algorithms=["ES256"])
