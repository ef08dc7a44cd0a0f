"""The identity provider's metadata and keys, fetched from configured URLs and cached.

Discovery is cached for ``metadata_ttl_seconds``; its ``issuer`` must equal the configured one
exactly (OpenID Connect Discovery §4.3). The JWKS is cached until an ID token names a ``kid``
it lacks; then it is fetched again, at most once per cooldown, so a flood of tokens with made-up
key ids cannot turn into a flood of requests upstream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from providers.oidc.config import OidcConfig
from providers.oidc.errors import IdentityProviderUnavailable

T = TypeVar("T")
# Bodies of discovery and JWKS documents; anything larger is not one.
MAX_DOCUMENT = 256 * 1024


@dataclass(frozen=True, slots=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    iss_parameter_supported: bool  # RFC 9207: the callback must then carry ``iss``
    userinfo_endpoint: str | None = None


class Upstream:
    def __init__(self, cfg: OidcConfig, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._cfg = cfg
        self._monotonic = monotonic
        self._metadata: tuple[float, Metadata] | None = None
        self._keys: KeySet | None = None
        self._keys_fetched_at = float("-inf")  # epoch seconds of the last fetch attempt
        self._lock = asyncio.Lock()

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self._cfg.timeout_seconds, follow_redirects=False)

    async def within_timeout(self, call: Awaitable[T]) -> T:
        """Run ``call`` within the configured timeout; a slow or failing upstream becomes a 503."""
        try:
            async with asyncio.timeout(self._cfg.timeout_seconds):
                return await call
        except (TimeoutError, httpx.TransportError):
            raise IdentityProviderUnavailable("the identity provider did not answer in time") from None

    async def metadata(self) -> Metadata:
        now = self._monotonic()
        if self._metadata is not None and now - self._metadata[0] < self._cfg.metadata_ttl_seconds:
            return self._metadata[1]
        url = self._cfg.issuer.rstrip("/") + "/.well-known/openid-configuration"
        doc = await self.within_timeout(self._get_json(url))
        if doc.get("issuer") != self._cfg.issuer:
            raise IdentityProviderUnavailable("the identity provider's discovery names another issuer")
        try:
            meta = Metadata(
                issuer=doc["issuer"],
                authorization_endpoint=_str(doc["authorization_endpoint"]),
                token_endpoint=_str(doc["token_endpoint"]),
                jwks_uri=_str(doc["jwks_uri"]),
                iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported") is True,
                userinfo_endpoint=_str(doc["userinfo_endpoint"]) if "userinfo_endpoint" in doc else None,
            )
        except (KeyError, TypeError):
            raise IdentityProviderUnavailable("the identity provider's discovery is incomplete") from None
        self._metadata = (now, meta)
        return meta

    async def keys(self, kid: str | None, now: float) -> KeySet:
        """The JWKS; fetched again when ``kid`` is unknown, at most once per cooldown.

        ``now`` is the flow's clock (epoch seconds), so the cooldown is tested without sleeping;
        a clock that went backwards counts as cooled rather than blocking refetches."""
        async with self._lock:
            known = self._keys is not None and (kid is None or has_kid(self._keys, kid))
            elapsed = now - self._keys_fetched_at
            cooled = elapsed < 0 or elapsed >= self._cfg.jwks_refetch_cooldown_seconds
            if self._keys is None or (not known and cooled):
                # Attempts count for the cooldown, so a failing JWKS endpoint is not hammered either.
                self._keys_fetched_at = now
                meta = await self.metadata()
                doc = await self.within_timeout(self._get_json(meta.jwks_uri))
                try:
                    self._keys = KeySet.import_key_set(doc)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError, KeyError):
                    raise IdentityProviderUnavailable("the identity provider's JWKS is unusable") from None
            return self._keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        async with self.client() as http:
            r = await http.get(url, headers={"accept": "application/json"})
        if r.status_code != 200 or len(r.content) > MAX_DOCUMENT:
            raise IdentityProviderUnavailable("the identity provider answered with an error")
        try:
            doc = r.json()
        except ValueError:
            raise IdentityProviderUnavailable("the identity provider answered with an error") from None
        if not isinstance(doc, dict):
            raise IdentityProviderUnavailable("the identity provider answered with an error")
        return doc


def _str(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("expected a URL")
    return value


def has_kid(keys: KeySet, kid: str) -> bool:
    return any(k.kid == kid for k in keys.keys)
