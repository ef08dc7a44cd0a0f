"""Fetching and caching Status List Tokens for ``age_credential`` (providers.credentials.status).

Only the URIs of the configured allow-list are ever fetched: a credential that names another
list gets no request at all, whatever its URI says. A list is kept in memory until its ``ttl``
or ``exp`` (capped by ``max_cache_seconds``), per provider instance, so most presentations cost
no request; concurrent presentations of one list wait for one fetch. Time is the flow's clock.

What a list that cannot be had means is configured: with ``fail_closed`` (the default) a list
that does not answer gives a 503 (``provider_unavailable``, the attempt given back: try again
later) and one that answers with something unusable (not on the allow-list, bad signature,
wrong ``sub``, expired, the index past its end) refuses the credential as
``credential_status_unknown``; without it, such a credential is accepted unchecked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from providers.credentials.errors import Rejected
from providers.credentials.status import (
    MAX_TOKEN,
    MEDIA_TYPE,
    SUSPENDED,
    VALID,
    StatusList,
    StatusListInvalid,
    StatusReference,
    read_status_list,
)
from providers.credentials.trust import TrustList
from providers.errors import ProviderUnavailable

CREDENTIAL_REVOKED = "credential_revoked"
CREDENTIAL_SUSPENDED = "credential_suspended"
CREDENTIAL_STATUS_UNKNOWN = "credential_status_unknown"
STATUS_REASONS = frozenset({CREDENTIAL_REVOKED, CREDENTIAL_SUSPENDED, CREDENTIAL_STATUS_UNKNOWN})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class StatusConfig(BaseModel):
    """``status`` in an ``age_credential`` instance's configuration."""

    model_config = ConfigDict(extra="forbid")
    # Exact URIs; a credential's reference must be one of them, character for character.
    allowed_uris: list[Annotated[str, StringConstraints(min_length=8, max_length=2048)]] = Field(min_length=1)
    # PEM public keys (or files) that sign the lists; without any, the list's x5c chain must
    # lead to one of the provider's trust anchors, as a credential's does.
    signing_keys: list[str] = Field(default_factory=list)
    fail_closed: bool = True
    # Refuse a credential that names no status list at all (credential_status_unknown).
    required: bool = False
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    max_cache_seconds: int = Field(default=86_400, ge=1, le=7 * 86_400)
    # Plain http only on loopback, for tests and local development.
    allow_insecure_loopback: bool = False


class StatusLists:
    def __init__(self, cfg: StatusConfig, trust: TrustList, keys: Iterable[bytes]) -> None:
        for uri in cfg.allowed_uris:
            parts = urlsplit(uri)
            insecure_ok = cfg.allow_insecure_loopback and parts.hostname in _LOOPBACK
            if parts.scheme != "https" and not (parts.scheme == "http" and insecure_ok):
                raise ValueError("status list URIs must be https URLs")
            if parts.fragment:
                raise ValueError("status list URIs take no fragment")
        self._cfg = cfg
        self._allowed = frozenset(cfg.allowed_uris)
        self._trust = trust
        self._keys = [_public_key(pem) for pem in keys]
        self._cache: dict[str, StatusList] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetches = 0  # requests made, for the tests and the curious

    async def check(self, ref: StatusReference | None, now: datetime) -> bool:
        """True once the entry reads VALID; False when, failing open, it could not be read.

        Raises ``Rejected`` for a revoked, suspended or (failing closed) unknown status and
        ``ProviderUnavailable`` for a list that does not answer (failing closed)."""
        if ref is None:
            if self._cfg.required:
                raise Rejected(CREDENTIAL_STATUS_UNKNOWN)
            return False
        if ref.uri not in self._allowed:  # never fetched: the URI is the presenter's to choose
            return self._unknown()
        try:
            status = (await self._list(ref.uri, now)).status(ref.idx)
        except StatusListInvalid:
            return self._unknown()
        except (TimeoutError, httpx.TransportError, _Unreachable):
            if self._cfg.fail_closed:
                raise ProviderUnavailable("the credential's status list could not be fetched") from None
            return False
        if status is None:
            return self._unknown()
        if status == SUSPENDED:
            raise Rejected(CREDENTIAL_SUSPENDED)
        if status != VALID:  # INVALID, and any value this verifier does not know: not valid
            raise Rejected(CREDENTIAL_REVOKED)
        return True

    def _unknown(self) -> bool:
        if self._cfg.fail_closed:
            raise Rejected(CREDENTIAL_STATUS_UNKNOWN)
        return False

    async def _list(self, uri: str, now: datetime) -> StatusList:
        cached = self._cache.get(uri)
        if cached is not None and now < cached.fresh_until:
            return cached
        async with self._locks.setdefault(uri, asyncio.Lock()):
            cached = self._cache.get(uri)  # fetched while this one waited
            if cached is not None and now < cached.fresh_until:
                return cached
            self._cache.pop(uri, None)
            token = await self._fetch(uri)
            fresh = read_status_list(
                token,
                uri,
                now,
                keys=self._keys,
                trust=self._trust,
                max_age=timedelta(seconds=self._cfg.max_cache_seconds),
            )
            self._cache[uri] = fresh
            return fresh

    async def _fetch(self, uri: str) -> str:
        self.fetches += 1
        timeout = self._cfg.timeout_seconds
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(timeout=timeout, follow_redirects=False) as http,
            http.stream("GET", uri, headers={"accept": MEDIA_TYPE}) as r,
        ):
            if r.status_code >= 500:
                raise _Unreachable
            body = b""
            async for chunk in r.aiter_bytes():
                body += chunk
                if len(body) > MAX_TOKEN:
                    raise StatusListInvalid("too large")
        if r.status_code != 200:
            raise StatusListInvalid("not found or refused")
        try:
            return body.decode("ascii").strip()
        except UnicodeDecodeError:
            raise StatusListInvalid("not a compact JWT") from None


class _Unreachable(Exception):
    """The list's server answered with a server error: as if it had not answered."""


def _public_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = load_pem_public_key(pem)
    except ValueError:
        raise ValueError("a status list signing key is not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("a status list signing key must be an EC P-256 public key (ES256)")
    return key
