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
    status:                                   # Token Status List checks (off when absent)
      allowed_uris: [https://issuer.example/status/1]  # the only lists ever fetched
      signing_keys: []                        # PEM keys of the lists (default: x5c to an anchor)
      fail_closed: true                       # a list that cannot be had refuses (or 503s)
      required: false                         # refuse credentials that name no list
      max_cache_seconds: 86400                # cap on a list's ttl/exp in the cache

A credential whose status entry is INVALID is refused as ``credential_revoked``, SUSPENDED as
``credential_suspended``; neither counts as circumvention (``providers.credential_status``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from providers.base import Failure, Flow, Outcome, ProviderContext, Signal, Unavailability
from providers.credential_status import STATUS_REASONS, StatusConfig, StatusLists
from providers.credentials.binding import Binding
from providers.credentials.errors import (
    BINDING_MISMATCH,
    FORMAT_NOT_ACCEPTED,
    INVALID_SIGNATURE,
    MALFORMED,
    REASONS,
    TAMPERED,
    UNTRUSTED_ISSUER,
    Rejected,
)
from providers.credentials.mdoc import AV_DOCTYPE, verify_mdoc
from providers.credentials.sdjwt import verify_sd_jwt
from providers.credentials.trust import TrustList
from providers.evidence import parse_evidence
from service.core import base64url

MDOC = "mso_mdoc"
SD_JWT = "dc+sd-jwt"
Format = Literal["mso_mdoc", "dc+sd-jwt"]
_ALL_FORMATS: tuple[Format, ...] = ("mso_mdoc", "dc+sd-jwt")
_QUALIFIERS = {MDOC: "mdoc", SD_JWT: "sd_jwt"}
# A presentation carries one small credential: anything bigger is not one.
MAX_PRESENTATION = 32 * 1024


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    audience: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    response_uri: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    trust_anchors: list[str] = Field(min_length=1)
    formats: list[Format] = Field(default_factory=lambda: list(_ALL_FORMATS), min_length=1)
    vct: list[str] = Field(default_factory=lambda: [AV_DOCTYPE], min_length=1)
    doc_type: str = AV_DOCTYPE
    max_presentation_age_seconds: int = Field(default=300, ge=10, le=3600)
    status: StatusConfig | None = None


class _Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    method: str | None = Field(default=None, max_length=64)
    format: Format
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
        self._trust = TrustList.from_pem(_pem(s) for s in cfg.trust_anchors)
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
        credentials: list[dict[str, Any]] = []
        if MDOC in self._formats:
            credentials.append(
                {
                    "id": "age_mdoc",
                    "format": MDOC,
                    "meta": {"doctype_value": self._cfg.doc_type},
                    "claims": [{"path": [self._cfg.doc_type, "age_over_18"], "intent_to_retain": False}],
                }
            )
        if SD_JWT in self._formats:
            credentials.append(
                {
                    "id": "age_sd_jwt",
                    "format": SD_JWT,
                    "meta": {"vct_values": sorted(self._vct)},
                    "claims": [{"path": ["age_over_18"]}],
                }
            )
        return {
            "client_id": self._cfg.audience,
            "response_uri": self._response_uri,
            "nonce": nonce,
            "formats": sorted(self._formats),
            "dcql_query": {
                "credentials": credentials,
                "credential_sets": [{"options": [[c["id"]] for c in credentials]}],
            },
        }

    @property
    def _response_uri(self) -> str:
        return self._cfg.response_uri or self._cfg.audience

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        ev = parse_evidence(_Evidence, evidence)
        if ev.format not in self._formats:
            return Failure(FORMAT_NOT_ACCEPTED)
        if ctx.nonce is None:
            return Failure(BINDING_MISMATCH)
        binding = Binding(self._cfg.audience, ctx.nonce, self._response_uri)
        try:
            if ev.format == MDOC:
                raw = _canonical_bytes(ev.presentation)
                interval, status = verify_mdoc(raw, self._trust, binding, ctx.now, self._cfg.doc_type)
            else:
                interval, status = verify_sd_jwt(
                    ev.presentation, self._trust, binding, ctx.now, self._vct, self._max_kb_age
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
            _QUALIFIERS[ev.format],
            attributes=("age_over", "status") if checked else ("age_over",),
            replay_key=hashlib.sha256(ev.presentation.encode()).hexdigest(),
        )


def _canonical_bytes(presentation: str) -> bytes:
    """Canonical base64url only: the presentation's digest is its single-use marker, so a
    re-encoding of the same bytes (padding, ``+``/``/``, dropped bits) must not pass as new."""
    try:
        return base64url.decode(presentation)
    except ValueError:
        raise Rejected(MALFORMED) from None


_CIRCUMVENTION = frozenset({UNTRUSTED_ISSUER, INVALID_SIGNATURE, TAMPERED, BINDING_MISMATCH})
