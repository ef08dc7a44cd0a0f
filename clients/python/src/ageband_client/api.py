"""A small async client of ageband's API for an app back-end: checks, token refresh, decisions
(single and batch), and the JWKS and policy bundle kept fresh for local verification.

A 503 (the store or a provider is briefly down) is retried after its ``Retry-After`` (seconds or
an HTTP date; capped), or a short backoff without one, up to ``retries`` times. Every other error
raises ``ApiError`` with the problem document's stable ``code``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self, TypedDict

import httpx

from ageband_client.bundle import InvalidBundle, PolicyBundle
from ageband_client.keys import KeySet
from ageband_client.tokens import DEFAULT_TOKEN_CACHE_SIZE, AgeToken, InvalidToken, Party, TokenCache

PartyArg = Party | str  # (band, level, upper_level), or an age-band token


class ApiError(Exception):
    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.code = str(problem.get("code", "http_error"))
        self.problem = dict(problem)
        super().__init__(f"{status} {self.code}: {problem.get('detail', '')}")


class Decision(TypedDict):
    allowed: bool
    effect: str
    rule: str
    reason: str
    message: str
    obligations: list[str]
    safety_resources: list[dict[str, str]]
    policy_version: str


class BatchResult(TypedDict, total=False):
    allowed: list[str]
    denied: int
    policy_version: str
    reasons: dict[str, dict[str, Any]]


class TokenResult(TypedDict, total=False):
    token: str
    token_type: str
    expires_in: int
    band: str
    level: str
    upper_level: str | None
    sid: str
    recheck_at: str


def party_body(party: PartyArg) -> dict[str, str]:
    if isinstance(party, str):
        return {"token": party}
    band, level, upper = party
    body = {"band": band, "level": level, "upper_level": upper}
    return {k: v for k, v in body.items() if v is not None}


def retry_delay(response: httpx.Response, attempt: int, now: float, cap: float) -> float:
    """Seconds to wait before retrying a 503: its Retry-After, else 0.5, 1, 2 ..."""
    value = response.headers.get("retry-after", "").strip()
    delay: float = 0.5 * 2**attempt
    if value.isdigit():
        delay = float(value)
    elif value:
        with contextlib.suppress(TypeError, ValueError):
            delay = float(parsedate_to_datetime(value).timestamp()) - now
    return min(max(delay, 0.0), cap)


class Ageband:
    """``Ageband(base_url, api_key, client_id=..., issuer=...)``; use as ``async with``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        client_id: str,
        issuer: str,
        http: httpx.AsyncClient | None = None,
        retries: int = 3,
        max_retry_after: float = 30.0,
        jwks_max_age: float = 300.0,
        jwks_min_interval: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        token_cache_size: int = DEFAULT_TOKEN_CACHE_SIZE,
    ) -> None:
        self._http = http or httpx.AsyncClient(timeout=10.0)
        self._owns_http = http is None
        self._base = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self.client_id, self.issuer = client_id, issuer
        self._retries, self._max_retry_after = retries, max_retry_after
        self._jwks_max_age, self._jwks_min_interval = jwks_max_age, jwks_min_interval
        self._clock, self._sleep = clock, sleep
        self._keys: KeySet | None = None
        self._keys_at = float("-inf")
        self._tokens = TokenCache(token_cache_size)  # verified tokens, until exp or a JWKS change
        self._bundle: PolicyBundle | None = None
        self._bundle_etag: str | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def _request(
        self, method: str, path: str, *, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        for attempt in range(self._retries + 1):
            response = await self._http.request(
                method, self._base + path, json=json, headers={**self._auth, **(headers or {})}
            )
            if response.status_code != 503 or attempt == self._retries:
                break
            await self._sleep(retry_delay(response, attempt, self._clock(), self._max_retry_after))
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {}
            raise ApiError(response.status_code, problem if isinstance(problem, dict) else {})
        return response

    async def _json(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        return (await self._request(method, path, json=body, **kw)).json()

    # --- the API -------------------------------------------------------------------------------

    async def start_check(
        self, *, jurisdiction: str, subject: str | None = None, sid: str | None = None,
        purpose: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        body = {"jurisdiction": jurisdiction, "subject": subject, "sid": sid, "purpose": purpose}
        out: dict[str, Any] = await self._json("POST", "/v1/checks", {k: v for k, v in body.items() if v})
        return out

    async def submit_evidence(self, check_id: str, evidence: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = await self._json("POST", f"/v1/checks/{check_id}/evidence", dict(evidence))
        return out

    async def get_check(self, check_id: str) -> dict[str, Any]:
        out: dict[str, Any] = await self._json("GET", f"/v1/checks/{check_id}")
        return out

    async def refresh(self, *, sid: str | None = None, subject: str | None = None) -> TokenResult:
        body = {"sid": sid} if sid is not None else {"subject": subject}
        out: TokenResult = await self._json("POST", "/v1/tokens/refresh", body)
        return out

    async def decide(
        self, *, action: str, jurisdiction: str, actor: PartyArg, target: PartyArg,
        country: str | None = None, locale: str | None = None,
    ) -> Decision:  # fmt: skip
        body: dict[str, Any] = {
            "action": action, "jurisdiction": jurisdiction,
            "actor": party_body(actor), "target": party_body(target),
        }  # fmt: skip
        if country is not None:
            body["country"] = country
        headers = {"Accept-Language": locale} if locale else None
        out: Decision = await self._json("POST", "/v1/decisions", body, headers=headers)
        return out

    async def decide_batch(
        self, *, action: str, jurisdiction: str, actor: PartyArg,
        targets: Mapping[str, PartyArg] | Sequence[tuple[str, PartyArg]], reasons: bool = False,
        locale: str | None = None,
    ) -> BatchResult:  # fmt: skip
        """``targets``: the app's id for each target, with its party."""
        pairs = targets.items() if isinstance(targets, Mapping) else targets
        body = {
            "action": action, "jurisdiction": jurisdiction, "actor": party_body(actor),
            "targets": [{"id": tid, **party_body(p)} for tid, p in pairs], "reasons": reasons,
        }  # fmt: skip
        headers = {"Accept-Language": locale} if locale else None
        out: BatchResult = await self._json("POST", "/v1/decisions/batch", body, headers=headers)
        return out

    # --- keys, tokens and the bundle, verified here ---------------------------------------------

    async def keys(self, *, force: bool = False) -> KeySet:
        """The JWKS, cached for ``jwks_max_age``; ``force`` refetches, at most once per
        ``jwks_min_interval`` (an unknown kid cannot make us hammer the service)."""
        now = self._clock()
        due = now - self._keys_at >= self._jwks_max_age
        may = now - self._keys_at >= self._jwks_min_interval
        if self._keys is None or due or (force and may):
            response = await self._request("GET", "/.well-known/jwks.json")
            self._keys, self._keys_at = KeySet.from_json(response.content), now
        return self._keys

    async def verify_token(self, token: str) -> AgeToken:
        """An age-band token issued to this app, verified locally (InvalidToken otherwise)."""
        try:
            return self._verify(token, await self.keys())
        except InvalidToken as err:
            if not err.unknown_kid:
                raise
            return self._verify(token, await self.keys(force=True))  # a rotation: refetch once

    def _verify(self, token: str, keys: KeySet) -> AgeToken:
        now = self._clock()
        return self._tokens.verify(token, keys, issuer=self.issuer, audience=self.client_id, now=now)

    async def policy_bundle(self) -> PolicyBundle:
        """The verified policy bundle, refetched (If-None-Match) once its ``refresh_after`` has
        come; a bundle that fails to refresh stays in use until its ``exp``, then this raises."""
        bundle = self._bundle
        if bundle is not None and not bundle.needs_refresh(self._clock()):
            return bundle
        try:
            headers = {"If-None-Match": self._bundle_etag} if self._bundle_etag and bundle else None
            response = await self._request("GET", "/v1/policy/bundle", headers=headers)
            if response.status_code != 304 or bundle is None:
                bundle = await self._verified_bundle(response.text)
                self._bundle, self._bundle_etag = bundle, response.headers.get("etag")
        except (ApiError, httpx.HTTPError):
            if bundle is None or bundle.expires_at <= self._clock():
                raise
        return bundle

    async def _verified_bundle(self, token: str) -> PolicyBundle:
        try:
            return PolicyBundle.verify(token, await self.keys(), issuer=self.issuer, clock=self._clock)
        except InvalidBundle as err:
            if not err.unknown_kid:
                raise
            keys = await self.keys(force=True)
            return PolicyBundle.verify(token, keys, issuer=self.issuer, clock=self._clock)
