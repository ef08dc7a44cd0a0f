"""Shared builders for tests: settings, a running app with an HTTP client, checks and tokens."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from answers import recording
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from service.app import DEMO_ADMIN_KEY, DEMO_CLIENT_KEY, create_app
from service.core.clock import FixedClock
from service.flows.context import Services
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
AUTH = {"Authorization": f"Bearer {DEMO_CLIENT_KEY}"}
ADMIN = {"Authorization": f"Bearer {DEMO_ADMIN_KEY}"}
PINNED = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def make_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"policy_path": POLICIES, "pepper": "p" * 32}
    base.update(overrides)
    return Settings(**base)


@dataclass
class Running:
    app: FastAPI
    http: httpx.AsyncClient
    clock: FixedClock
    logs: io.StringIO

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs.getvalue().splitlines() if line.strip()]

    async def start_check(
        self, subject: str = "user-1", jurisdiction: str = "default", **extra: Any
    ) -> dict[str, Any]:
        r = await self.http.post(
            "/v1/checks",
            json={"subject": subject, "jurisdiction": jurisdiction, **extra},
            headers=AUTH,
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    async def evidence(
        self, check_id: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.http.post(f"/v1/checks/{check_id}/evidence", json=body, headers=headers or AUTH)

    async def adult_token(self, subject: str = "user-1", birth_year: int = 1990) -> tuple[str, str]:
        """Run a self-declared adult check; returns (sid, token)."""
        check = await self.start_check(subject)
        r = await self.evidence(check["check_id"], {"method": "self_declaration", "birth_year": birth_year})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["outcome"] == "passed", body
        return check["sid"], body["token"]["token"]

    async def guardian_token(
        self, subject: str = "child-1", lower: int = 13, upper: int = 15
    ) -> tuple[str, str]:
        """A minor band a parent vouches for (Apple's guardian-declared range): its upper edge is
        confirmed, so the minor may talk to other confirmed minors. Returns (sid, token)."""
        check = await self.start_check(subject)
        os_signal = {"method": "os_signal", "source": "apple", "declaration": "guardian_declared"}
        r = await self.evidence(check["check_id"], {**os_signal, "lower_bound": lower, "upper_bound": upper})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["outcome"] == "passed", body
        return check["sid"], body["token"]["token"]


@asynccontextmanager
async def running(settings: Settings | None = None, *, at: datetime = PINNED) -> AsyncIterator[Running]:
    clock = FixedClock(at)
    logs = io.StringIO()
    app = create_app(settings or make_settings(), clock=clock, log_sink=logs)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=recording(manager.app))
        async with httpx.AsyncClient(transport=transport, base_url="http://ageband.test") as http:
            yield Running(app, http, clock, logs)


# --- clients and policies written for one test (tmp_path) ------------------------------------

OTHER_CLIENT_KEY = "other-app-key-0123456789abcdef"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def write_clients_file(
    directory: Path,
    clients: dict[str, tuple[str, list[str]]],
    admins: dict[str, str] | None = None,
) -> Path:
    """A clients YAML: ``{client_id: (api_key, jurisdictions)}`` and ``{admin_id: api_key}``.

    Only the keys' hashes are written, as in a real clients file.
    """
    from service.clients.registry import hash_key

    doc = {
        "clients": [
            {"id": cid, "api_keys": [hash_key(key)], "jurisdictions": list(jurs)}
            for cid, (key, jurs) in clients.items()
        ],
        "admins": [{"id": aid, "api_keys": [hash_key(key)]} for aid, key in (admins or {}).items()],
    }
    path = directory / "clients.yaml"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")  # JSON is YAML
    return path


def two_clients_settings(directory: Path, **overrides: Any) -> Settings:
    """Settings with client ``demo`` (AUTH, every jurisdiction), client ``other``
    (OTHER_CLIENT_KEY, every jurisdiction) and admin ``ops`` (ADMIN)."""
    clients = write_clients_file(
        directory,
        {"demo": (DEMO_CLIENT_KEY, ["*"]), "other": (OTHER_CLIENT_KEY, ["*"])},
        {"ops": DEMO_ADMIN_KEY},
    )
    return make_settings(clients_file=clients, **overrides)


def write_policy(directory: Path, *, replace: dict[str, str] | None = None, append: str = "") -> Path:
    """A copy of policies/default.yaml in its own directory, with exact text replacements
    (each must match) and YAML appended (e.g. more jurisdictions, indented by two spaces)."""
    text = (POLICIES / "default.yaml").read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, f"policy text not found: {old!r}"
        text = text.replace(old, new)
    folder = directory / "policy"
    folder.mkdir(exist_ok=True)
    (folder / "default.yaml").write_text(text + append, encoding="utf-8")
    return folder


def default_waterfall_line() -> str:
    """The default jurisdiction's ``waterfall: [...]`` text, to replace with ``write_policy``."""
    text = (POLICIES / "default.yaml").read_text(encoding="utf-8")
    return next(line.strip() for line in text.splitlines() if line.strip().startswith("waterfall: ["))
