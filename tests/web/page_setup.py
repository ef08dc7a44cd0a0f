"""A clients file for the check page tests: an app with return URLs, a prefix and framers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factories import make_settings

from service.app import DEMO_CLIENT_KEY
from service.clients.registry import hash_key
from service.settings import Settings

RETURN = "https://app.example/age/done"
PREFIX = "https://app.example/return/"
FRAMER = "https://app.example"


def page_clients(
    directory: Path, *, return_urls: list[str] | None = None, frame_ancestors: list[str] | None = None
) -> Path:
    doc = {
        "clients": [
            {
                "id": "demo",
                "api_keys": [hash_key(DEMO_CLIENT_KEY)],
                "return_urls": return_urls or [RETURN],
                "return_url_prefixes": [PREFIX],
                "frame_ancestors": frame_ancestors if frame_ancestors is not None else [FRAMER],
            },
            {"id": "plain", "api_keys": [hash_key("plain-app-key-0123456789abcdef")]},
        ]
    }
    path = directory / "clients.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def page_settings(directory: Path, **overrides: Any) -> Settings:
    clients = page_clients(
        directory,
        return_urls=overrides.pop("return_urls", None),
        frame_ancestors=overrides.pop("frame_ancestors", None),
    )
    return make_settings(clients_file=clients, **overrides)
