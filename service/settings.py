"""Settings from ``AGEBAND_`` environment variables (nested with ``__``), e.g.
``AGEBAND_STORE__BACKEND=redis`` or ``AGEBAND_TOKENS__LIFETIME=PT5M``. Durations are ISO 8601
strings, as in policy files: ``AGEBAND_TOKENS__LIFETIME=300`` is refused, not read as seconds.

Production mode refuses development shortcuts: generated keys, missing peppers, the demo
client and the settable clock.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.core.durations import Duration
from service.policy.packaged import bundled_policy_dir


class Env(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class StoreSettings(BaseModel):
    backend: Literal["memory", "redis"] = "memory"
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    prefix: str = Field(default="ageband", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    # With replicas (Sentinel): revocations and erasures answer only once this many replicas
    # hold them (Redis WAIT), so a failover never revives a revoked token. 0 = plain Redis.
    min_replicas_ack: int = Field(default=0, ge=0, le=16)
    replica_ack_timeout_ms: int = Field(default=500, ge=10, le=10_000)
    # A Redis that does not answer within this counts as gone (503, or failover with Sentinel).
    socket_timeout: float = Field(default=2.0, gt=0, le=60)


class KeyFile(BaseModel):
    path: Path
    state: Literal["next", "active", "retired"] = "active"


class TokenSettings(BaseModel):
    issuer: str = "urn:ageband:dev"
    # ISO 8601 only (PT5M): a bare number is refused rather than read as seconds.
    lifetime: Duration = Field(default=timedelta(minutes=5), ge=timedelta(seconds=30), le=timedelta(hours=1))
    keys: list[KeyFile] = Field(default_factory=list, description="PEM or JWK files with their state.")
    keys_file: Path | None = Field(
        default=None,
        description="Instead of keys: a JSON/YAML list of {path, state}, re-read on change, SIGHUP "
        "or POST /v1/admin/keys/reload, so a rotation needs no restart.",
    )
    dev_key_alg: Literal["EdDSA", "ES256"] = "EdDSA"
    leeway_seconds: int = Field(default=30, ge=0, le=300)

    @model_validator(mode="after")
    def _one_key_source(self) -> TokenSettings:
        if self.keys and self.keys_file is not None:
            raise ValueError("set AGEBAND_TOKENS__KEYS or AGEBAND_TOKENS__KEYS_FILE, not both")
        return self


class ProviderInstance(BaseModel):
    type: str | None = Field(default=None, description="Entry point name; defaults to the instance name.")
    config: dict[str, Any] = Field(default_factory=dict)


class ProviderSettings(BaseModel):
    enabled: list[str] = Field(default_factory=lambda: ["os_signal", "self_declaration"])
    instances: dict[str, ProviderInstance] = Field(default_factory=dict)


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # POST /v1/decisions/batch: 10,000 targets given as tokens need several megabytes.
    max_batch_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Evidence bodies (JSON or multipart) may carry a photo: 5 MiB is 6.7 MiB as base64.
    max_evidence_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=32 * 1024 * 1024)
    # Wallet responses (direct_post, direct_post.jwt, the DC API's) carry one presentation each,
    # whose size each method caps; a real mDL with a portrait is about 50 KB as base64url.
    max_wallet_body_bytes: int = Field(default=512 * 1024, ge=1024, le=8 * 1024 * 1024)
    # The service's public base URL, e.g. https://ageband.example: OpenID4VP request_uri and
    # response_uri are made from it. Unset: no hosted wallet endpoints.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^?#]+$", max_length=256)


class BundleSettings(BaseModel):
    """The signed policy bundle apps decide offline with (``GET /v1/policy/bundle``)."""

    # How long a copy stays valid: an app keeps deciding through an outage this long. Retired
    # signing keys stay published at least this long after they stop signing (see Key rotation).
    lifetime: Duration = Field(default=timedelta(hours=24), ge=timedelta(minutes=10), le=timedelta(days=7))
    # The refresh_after hint: apps refetch this long after iat (a policy change reaches them
    # within it); the service re-signs at that age, so every copy served has lifetime - refresh left.
    refresh: Duration = Field(default=timedelta(hours=1), ge=timedelta(minutes=1), le=timedelta(days=1))

    @model_validator(mode="after")
    def _refresh_within_lifetime(self) -> BundleSettings:
        if self.refresh * 2 > self.lifetime:
            raise ValueError("bundle refresh must be at most half the bundle lifetime")
        return self


class AuditSettings(BaseModel):
    """The tamper-evident audit stream (hash chain, sinks, checkpoints)."""

    file: Path | None = Field(default=None, description="Append audit events here (JSONL) instead of stdout.")
    chain_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="Names this process's chain (e.g. the replica); a random suffix keeps restarts apart.",
    )
    checkpoint_every: int = Field(default=1000, ge=1, description="Checkpoint the chain head every N events.")
    checkpoint_seconds: float = Field(default=300.0, gt=0, description="...or after this many seconds.")
    checkpoint_file: Path | None = Field(
        default=None,
        description="Also append checkpoints here; kept apart from the log, they reveal truncation.",
    )
    checkpoint_key: Path | None = Field(
        default=None,
        description=(
            "Ed25519 private key (PEM) that signs checkpoints, published at "
            "/.well-known/audit-keys.json; unset: a key made at start-up, lost with the process "
            "(refused in production)."
        ),
    )
    checkpoint_published_keys: list[Path] = Field(
        default_factory=list,
        description=(
            "Earlier checkpoint keys, still published beside the signing one after a rotation so "
            "that the checkpoints they signed keep verifying: each a PEM public key, a PEM private "
            "key (only its public half is used) or a JWKS as /.well-known/audit-keys.json serves it."
        ),
    )
    retention_days: int = Field(
        default=400,
        ge=1,
        le=3650,
        description=(
            "How long audit logs are kept: a subject's audit key lives this long after its last use "
            "(erasure deletes it sooner)."
        ),
    )


class TracingSettings(BaseModel):
    """OpenTelemetry tracing (the ``tracing`` extra). The OTLP exporter reads the standard
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``_HEADERS`` variables."""

    enabled: bool = False
    exporter: Literal["otlp", "console"] = "otlp"
    service_name: str = Field(default="ageband", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0, description="Of traces started here.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGEBAND_", env_nested_delimiter="__", extra="forbid")

    env: Env = Env.DEVELOPMENT
    # Unset: the packs bundled with the package, so `ageband serve` runs from any folder.
    policy_path: Path = Field(default_factory=bundled_policy_dir)
    clients_file: Path | None = None
    # Keys the sid HMAC; must be stable across restarts and replicas in production.
    pepper: SecretStr | None = None
    dev_clock: bool = Field(default=False, description="Settable clock for demos (never in production).")
    policy_watch: bool = Field(default=True, description="Reload policy and key manifest on change.")
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    store: StoreSettings = Field(default_factory=StoreSettings)
    tokens: TokenSettings = Field(default_factory=TokenSettings)
    bundle: BundleSettings = Field(default_factory=BundleSettings)
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)

    @model_validator(mode="after")
    def _production_refuses_dev_shortcuts(self) -> Settings:
        if self.env is not Env.PRODUCTION:
            return self
        problems = []
        if self.pepper is None or len(self.pepper.get_secret_value()) < 32:
            problems.append("AGEBAND_PEPPER must be set (32+ characters)")
        if not self.tokens.keys and self.tokens.keys_file is None:
            problems.append(
                "AGEBAND_TOKENS__KEYS or _KEYS_FILE must name signing keys (no generated dev key)"
            )
        if self.clients_file is None:
            problems.append("AGEBAND_CLIENTS_FILE must be set (no demo client)")
        if self.dev_clock:
            problems.append("AGEBAND_DEV_CLOCK is not allowed")
        if self.audit.checkpoint_key is None:
            problems.append(
                "AGEBAND_AUDIT__CHECKPOINT_KEY must name the Ed25519 private key (PEM) that signs audit "
                "checkpoints (no generated key: its checkpoints could not be verified after a restart)"
            )
        if problems:
            raise ValueError("production mode: " + "; ".join(problems))
        return self
