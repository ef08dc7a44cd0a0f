"""Clients from a YAML file, authenticated by API key hash in constant time.

File shape::

    clients:
      - id: my-app
        api_keys: ["sha256:<hex of SHA-256 of the key>"]
        jurisdictions: ["default", "GB"]   # or ["*"]
        return_urls: ["https://app.example/age-check/done"]   # optional: after a redirect method
        return_url_prefixes: ["https://app.example/age/"]      # optional: the check page only
        frame_ancestors: ["https://app.example"]               # optional: who may frame the page
        webhook:                            # optional: lifecycle events for this app
          url: https://app.example/ageband/webhooks
          secret: whsec_<base64 of 24-64 random bytes>   # Standard Webhooks secret
    admins:
      - id: ops
        api_keys: ["sha256:<hex>"]
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
)

from service.core.errors import Forbidden, Unauthorized

ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
KeyHash = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


class ClientConfigError(Exception):
    pass


ReturnUrl = Annotated[
    str,
    StringConstraints(
        pattern=r"^(https://[^\s#]+|http://(127\.0\.0\.1|localhost)(:[0-9]+)?/[^\s#]*)$", max_length=2000
    ),
]


# A registered prefix ends its path with "/": a prefix that ends mid-name would also admit
# https://app.example/done.evil or https://app.example.evil/.
ReturnUrlPrefix = Annotated[
    str,
    StringConstraints(
        pattern=r"^(https://[^\s#?/]+|http://(127\.0\.0\.1|localhost)(:[0-9]+)?)/([^\s#?]*/)?$",
        max_length=2000,
    ),
]
# An origin that may show the check page in a frame (CSP frame-ancestors): scheme, host, port.
FrameAncestor = Annotated[
    str, StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", max_length=256)
]
# What a path may not hold after a registered prefix: dot segments, and their or a slash's
# percent-encodings or backslashes, which some servers read as path separators.
_ESCAPES_PREFIX = re.compile(r"(^|/)\.{1,2}(/|$|[?])|%2e|%2f|%5c|\\", re.IGNORECASE)


class WebhookConfig(BaseModel):
    """Where an app hears about its subjects. Only configuration sets it, never a request."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2000)]
    secret: SecretStr = Field(description="whsec_ followed by base64 of 24 to 64 random bytes.")

    @field_validator("secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        try:
            key = base64.b64decode(raw.removeprefix("whsec_"), validate=True)
        except (ValueError, binascii.Error):
            raise ValueError("secret must be whsec_ followed by base64") from None
        if not raw.startswith("whsec_") or not 24 <= len(key) <= 64:
            raise ValueError("secret must be whsec_ followed by base64 of 24 to 64 bytes")
        return value


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: ClientId
    api_keys: list[KeyHash] = Field(min_length=1)
    jurisdictions: list[str] = Field(default_factory=lambda: ["*"])
    webhook: WebhookConfig | None = None
    # Where a redirect method (an eID login) may send the user back: exact URLs, https only.
    return_urls: list[ReturnUrl] = Field(default_factory=list, max_length=50)
    # The hosted check page may also return under these prefixes (never a redirect method).
    return_url_prefixes: list[ReturnUrlPrefix] = Field(default_factory=list, max_length=50)
    frame_ancestors: list[FrameAncestor] = Field(default_factory=list, max_length=20)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clients: list[_Entry] = Field(default_factory=list)
    admins: list[_Entry] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    jurisdictions: frozenset[str]
    admin: bool = False
    webhook: WebhookConfig | None = None
    return_urls: frozenset[str] = frozenset()
    return_url_prefixes: tuple[str, ...] = ()
    frame_ancestors: tuple[str, ...] = ()

    def allows(self, jurisdiction: str) -> bool:
        return "*" in self.jurisdictions or jurisdiction in self.jurisdictions

    def allows_return_url(self, url: str) -> bool:
        # Exact match only: a prefix or pattern would let a path or query be chosen by a user.
        return url in self.return_urls

    def allows_page_return_url(self, url: str) -> bool:
        """Where the check page may send the user: an exact URL, or one under a registered
        prefix whose remainder cannot climb out of it (no dot segments, no encoded slashes)."""
        if self.allows_return_url(url):
            return True
        return any(
            url.startswith(p) and not _ESCAPES_PREFIX.search(url[len(p) - 1 :])
            for p in self.return_url_prefixes
        )


def hash_key(key: str) -> str:
    # API keys are random and long, so a plain SHA-256 suffices; no salt or KDF needed.
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class ClientRegistry:
    def __init__(self, entries: list[tuple[Client, str]]) -> None:
        self._clients: dict[str, Client] = {}
        for client, _ in entries:
            if self._clients.setdefault(client.id, client) != client:
                raise ClientConfigError(f"client id {client.id!r} is defined twice")
        self._keys = [(c, bytes.fromhex(h.removeprefix("sha256:"))) for c, h in entries]

    @classmethod
    def from_file(cls, path: Path) -> ClientRegistry:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            parsed = _File.model_validate(raw)
        except (OSError, yaml.YAMLError) as exc:
            raise ClientConfigError(f"{path}: cannot read clients file: {exc}") from None
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ClientConfigError(f"{path}: {where}: {first['msg']}") from None
        entries: list[tuple[Client, str]] = []
        for admin, group in ((False, parsed.clients), (True, parsed.admins)):
            for e in group:
                client = Client(
                    e.id, frozenset(e.jurisdictions), admin=admin, webhook=e.webhook,
                    return_urls=frozenset(e.return_urls),
                    return_url_prefixes=tuple(e.return_url_prefixes),
                    frame_ancestors=tuple(e.frame_ancestors),
                )  # fmt: skip
                entries.extend((client, h) for h in e.api_keys)
        return cls(entries)

    @classmethod
    def demo(cls, client_key: str, admin_key: str) -> ClientRegistry:
        return cls(
            [
                (Client("demo", frozenset({"*"})), hash_key(client_key)),
                (Client("demo-admin", frozenset({"*"}), admin=True), hash_key(admin_key)),
            ]
        )

    def get(self, client_id: str) -> Client | None:
        return self._clients.get(client_id)

    @property
    def client_ids(self) -> list[str]:
        return [c for c, v in self._clients.items() if not v.admin]

    def authenticate(self, authorization: str | None) -> Client:
        if not authorization:
            raise Unauthorized("missing bearer API key")
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key or len(key) > 512:
            raise Unauthorized("expected 'Authorization: Bearer <api key>'")
        digest = hashlib.sha256(key.strip().encode()).digest()
        match: Client | None = None
        # Compare against every hash, without stopping early, in constant time per comparison.
        for client, expected in self._keys:
            if hmac.compare_digest(digest, expected):
                match = client
        if match is None:
            raise Unauthorized("unknown API key")
        return match

    @staticmethod
    def require_client(client: Client) -> None:
        if client.admin:
            raise Forbidden("admin credentials cannot act for an app; use the app's API key")

    @staticmethod
    def require_admin(client: Client) -> None:
        if not client.admin:
            raise Forbidden("this operation needs an admin credential")
