"""One identity provider's settings (``AGEBAND_PROVIDERS__INSTANCES__<name>__CONFIG``).

Discovery and JWKS URLs come from here only, never from a request: the issuer is configured,
its discovery document is fetched from ``<issuer>/.well-known/openid-configuration``, and
the ``issuer`` there must match exactly.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, model_validator

Url = Annotated[str, StringConstraints(min_length=8, max_length=512)]
ClaimName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
AuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]
Alg = Literal["RS256", "PS256", "ES256", "EdDSA"]
_DEFAULT_ALGS: tuple[Alg, ...] = ("RS256",)


class OidcConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer: Url
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    client_secret: SecretStr | None = None
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"  # noqa: S105 - a method name
    # Registered at the identity provider for this instance alone (one redirect URI per IdP).
    redirect_uri: Url
    scopes: list[ClaimName] = Field(default_factory=lambda: ["openid"])
    # Pinned: an ID token signed with anything else is rejected, whatever its header says.
    algorithms: list[Alg] = Field(default_factory=lambda: list(_DEFAULT_ALGS), min_length=1)
    # Claim mapping: a birth date (the date never leaves the adapter) and/or over-N claims.
    birthdate_claim: ClaimName | None = "birthdate"
    age_over_claims: dict[ClaimName, Annotated[int, Field(ge=1, le=99)]] = Field(default_factory=dict)
    # OIDC Core 5.5: ask for the mapped claims, as essential, in the ID token or at UserInfo.
    claims_request: Literal["id_token", "userinfo"] | None = None
    # OIDC Core 5.3: read the mapped claims at UserInfo when the ID token has none of them.
    userinfo: bool = True
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    leeway_seconds: int = Field(default=30, ge=0, le=300)
    max_id_token_age_seconds: int = Field(default=600, ge=30, le=3600)
    metadata_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    jwks_refetch_cooldown_seconds: int = Field(default=60, ge=1, le=3600)
    # Plain http only on loopback, for tests and local development.
    allow_insecure_loopback: bool = False

    @model_validator(mode="after")
    def _checked(self) -> OidcConfig:
        for url in (self.issuer, self.redirect_uri):
            parts = urlsplit(url)
            insecure_ok = self.allow_insecure_loopback and parts.hostname in _LOOPBACK
            if parts.scheme != "https" and not (parts.scheme == "http" and insecure_ok):
                raise ValueError("issuer and redirect_uri must be https URLs")
            if parts.query or parts.fragment:
                raise ValueError("issuer and redirect_uri take no query or fragment")
        if "openid" not in self.scopes:
            raise ValueError("scopes must include 'openid'")
        if self.birthdate_claim is None and not self.age_over_claims:
            raise ValueError("map at least one claim: birthdate_claim or age_over_claims")
        if self.token_endpoint_auth_method != "none" and self.client_secret is None:  # noqa: S105
            raise ValueError("client_secret is required for this token_endpoint_auth_method")
        return self

    @property
    def mapped_claims(self) -> tuple[str, ...]:
        """The claim names this instance reads: its birth date and over-N claims."""
        birth = (self.birthdate_claim,) if self.birthdate_claim else ()
        return (*birth, *self.age_over_claims)
