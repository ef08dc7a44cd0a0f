"""``eid_oidc``: a login at an OpenID Connect identity provider (bank ID, national eID).

Each configured identity provider is its own instance, with its own issuer, client, redirect
URI, pinned algorithms and claim mapping (``providers.oidc.config``); the policy gives each
instance's method its level. The flow keeps state, nonce and PKCE verifier between the two
calls; this adapter keeps nothing. Authorization code flow with PKCE S256 encoded by authlib
(RFC 6749 request parameters);
RFC 9207 ``iss`` checked when the provider advertises it; the ID token fully validated
(``providers.oidc.id_token``). Only the derived interval leaves: a birth date becomes an exact
interval here, and its next band change a month-rounded ``age_up_at``.

Claims follow OpenID Connect Core: when the ID token carries none of the mapped claims (a
provider that returns scope claims only from UserInfo, §5.4), they are read from the UserInfo
endpoint with the access token of the same exchange, its ``sub`` equal to the ID token's
(``providers.oidc.userinfo``). ``claims_request`` sends the ``claims`` request parameter (§5.5)
asking for the mapped claims, as essential, in the ID token or at UserInfo.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request

from providers.base import (
    AuthorizationRequest,
    Failure,
    Flow,
    Outcome,
    ProviderContext,
    Redeemed,
    Signal,
    Unavailability,
)
from providers.oidc import id_token, userinfo
from providers.oidc.config import OidcConfig
from providers.oidc.errors import (
    AGE_CLAIM_INVALID,
    AGE_CLAIM_MISSING,
    AUTHORIZATION_DENIED,
    ID_TOKEN_INVALID,
    ISSUER_MISMATCH,
    REASONS,
    TOKEN_EXCHANGE_FAILED,
    IdentityProviderUnavailable,
    Rejected,
)
from providers.oidc.upstream import Upstream
from service.core.dates import age_up_at
from service.core.errors import InvalidEvidence
from service.core.intervals import AgeInterval, age_on, from_birthdate, from_over

_FULL_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
# Forged, mixed-up or replayed responses count against the subject; a denied login does not,
# nor a key id the provider has not published yet (a key rotation we have not caught up with).
_CIRCUMVENTION = frozenset(
    {
        "issuer_mismatch",
        "nonce_mismatch",
        "audience_mismatch",
        "id_token_invalid",
        "userinfo_subject_mismatch",
    }
)


class EidOidcProvider:
    method_class: ClassVar[str] = "eid_oidc"
    evidence_kinds: ClassVar[tuple[str, ...]] = ("id_token",)
    flow: ClassVar[Flow] = Flow.REDIRECT
    failure_reasons: ClassVar[frozenset[str]] = REASONS

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self._name = name
        self._cfg = OidcConfig.model_validate(dict(config))
        self._upstream = Upstream(self._cfg)

    @property
    def name(self) -> str:
        return self._name

    @property
    def redirect_uri(self) -> str:
        return self._cfg.redirect_uri

    def unavailable(self) -> Unavailability | None:
        return None

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        # Evidence arrives only through the callback: an ID token posted by the app is refused.
        raise InvalidEvidence(
            "this method runs by redirect: start it at /v1/checks/{id}/oidc/{provider}/start",
            errors=[{"field": "<evidence>", "problem": "Evidence is not accepted for a redirect method"}],
        )

    async def authorization_url(self, request: AuthorizationRequest) -> str:
        meta = await self._upstream.metadata()
        extra: dict[str, str] = {}
        if self._cfg.claims_request is not None:
            wanted = {name: {"essential": True} for name in self._cfg.mapped_claims}
            extra["claims"] = json.dumps({self._cfg.claims_request: wanted}, separators=(",", ":"))
        url: str = prepare_grant_uri(
            meta.authorization_endpoint,
            self._cfg.client_id,
            "code",
            redirect_uri=self._cfg.redirect_uri,
            scope=" ".join(self._cfg.scopes),
            state=request.state,
            nonce=request.nonce,
            code_challenge=_s256(request.code_verifier),
            code_challenge_method="S256",
            **extra,
        )
        return url

    async def redeem(
        self, params: Mapping[str, str], request: AuthorizationRequest, now: datetime
    ) -> Redeemed:
        # One deadline for discovery, token exchange and JWKS together: a slow provider gives a
        # 503 within ``timeout_seconds``, not one timeout per upstream call.
        try:
            return await self._upstream.within_timeout(self._claims(params, request, now))
        except Rejected as exc:
            return _failure(exc.reason)

    async def complete(self, redeemed: Redeemed, ctx: ProviderContext) -> Outcome:
        if isinstance(redeemed, Failure):
            return redeemed
        try:
            return self._signal(redeemed, ctx)
        except Rejected as exc:
            return _failure(exc.reason)

    async def _claims(
        self, params: Mapping[str, str], request: AuthorizationRequest, now: datetime
    ) -> dict[str, Any]:
        meta = await self._upstream.metadata()
        iss = params.get("iss")
        # RFC 9207: required when advertised, and never another issuer's (mix-up defence).
        if (meta.iss_parameter_supported and iss is None) or (iss is not None and iss != meta.issuer):
            raise Rejected(ISSUER_MISMATCH)
        if "error" in params or not params.get("code"):
            raise Rejected(AUTHORIZATION_DENIED)
        token = await self._exchange(meta.token_endpoint, params["code"], request.code_verifier)
        raw = token.get("id_token")
        if not isinstance(raw, str):
            raise Rejected(TOKEN_EXCHANGE_FAILED)
        claims = await id_token.validate(raw, self._cfg, self._upstream, request.nonce, now)
        mapped = self._cfg.mapped_claims
        if any(name in claims for name in mapped) or not self._cfg.userinfo:
            return claims
        access, subject = token.get("access_token"), claims.get("sub")
        bearer = str(token.get("token_type", "")).lower() == "bearer"
        if meta.userinfo_endpoint is None or not isinstance(access, str) or not access or not bearer:
            return claims  # nowhere else to look: age_claim_missing
        if not isinstance(subject, str):
            raise Rejected(ID_TOKEN_INVALID)  # OIDC Core §2: sub is required
        found = await userinfo.fetch(meta.userinfo_endpoint, access, subject, self._cfg, self._upstream, now)
        # Only the mapped claims join the ID token's: the rest of the profile is never kept.
        return {**claims, **{name: found[name] for name in mapped if name in found}}

    async def _exchange(self, endpoint: str, code: str, verifier: str) -> Mapping[str, Any]:
        body: str = prepare_token_request(
            "authorization_code", redirect_uri=self._cfg.redirect_uri, code=code, code_verifier=verifier
        )
        headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
        client_id = self._cfg.client_id
        secret = self._cfg.client_secret.get_secret_value() if self._cfg.client_secret else ""
        method = self._cfg.token_endpoint_auth_method
        if method == "client_secret_basic":
            # RFC 6749 §2.3.1: both parts form-encoded before the Basic scheme.
            token = base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode())
            headers["authorization"] = "Basic " + token.decode()
        elif method == "client_secret_post":
            body += "&" + urlencode({"client_id": client_id, "client_secret": secret})
        else:
            body += "&" + urlencode({"client_id": client_id})

        async def call() -> httpx.Response:
            async with self._upstream.client() as http:
                return await http.post(endpoint, content=body, headers=headers)

        r = await self._upstream.within_timeout(call())
        if r.status_code >= 500:
            raise IdentityProviderUnavailable("the identity provider answered with an error")
        try:
            token = r.json()
        except ValueError:
            raise Rejected(TOKEN_EXCHANGE_FAILED) from None
        if r.status_code != 200 or not isinstance(token, dict):
            raise Rejected(TOKEN_EXCHANGE_FAILED)
        return token

    def _signal(self, claims: Mapping[str, Any], ctx: ProviderContext) -> Signal:
        today = ctx.now.date()
        interval = AgeInterval(0, None)
        found: list[str] = []
        up: date | None = None
        birth = claims.get(self._cfg.birthdate_claim) if self._cfg.birthdate_claim else None
        if birth is not None:
            exact, up = _from_birthdate(birth, today, ctx)
            interval = interval.intersect(exact)
            found.append("birthdate")
        for name, n in self._cfg.age_over_claims.items():
            if name in claims:
                value = claims[name]
                if not isinstance(value, bool):
                    raise Rejected(AGE_CLAIM_INVALID)
                interval = interval.intersect(from_over(n, value))
                found.append("age_over")
        if not found:
            raise Rejected(AGE_CLAIM_MISSING)
        if interval.is_empty:
            raise Rejected(AGE_CLAIM_INVALID)
        return Signal(
            interval,
            self.method_class,
            attributes=tuple(sorted(set(found))),
            age_up_at=up if interval.is_exact else None,
        )


def _from_birthdate(value: object, today: date, ctx: ProviderContext) -> tuple[AgeInterval, date | None]:
    """OIDC ``birthdate``: ``YYYY-MM-DD`` gives an exact age; ``YYYY`` alone one of two ages."""
    if not isinstance(value, str):
        raise Rejected(AGE_CLAIM_INVALID)
    if m := _FULL_DATE.fullmatch(value):
        try:
            birth = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            exact = from_birthdate(birth, today)
        except ValueError:
            raise Rejected(AGE_CLAIM_INVALID) from None
        if exact.lo > 150:
            raise Rejected(AGE_CLAIM_INVALID)
        band = ctx.bands.for_age(exact.lo)
        nxt = ctx.bands.next_after(band.name)
        return exact, (age_up_at(birth, nxt.lo) if nxt is not None else None)
    if m := _YEAR.fullmatch(value):
        year = int(m.group(1))
        if year == 0 or year > today.year or today.year - year > 150:  # OIDC uses 0000 for "no year"
            raise Rejected(AGE_CLAIM_INVALID)
        oldest = age_on(date(year, 1, 1), today)
        return AgeInterval(max(0, oldest - 1), oldest), None
    raise Rejected(AGE_CLAIM_INVALID)


def _failure(reason: str) -> Failure:
    return Failure(reason, circumvention=reason in _CIRCUMVENTION)


def _s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
