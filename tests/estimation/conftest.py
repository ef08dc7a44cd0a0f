"""Fixtures for the estimation tests: anyio on asyncio, and the fake vendor on loopback."""

from __future__ import annotations

from typing import Any

import pytest
from estimation_vendor import Vendor, shared_vendor
from factories import make_settings

from service.settings import Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def vendor() -> Vendor:
    """One fake vendor per test process (the conformance cases share it)."""
    return shared_vendor()


def estimation_settings(provider: str, config: dict[str, Any] | None = None, **overrides: Any) -> Settings:
    """Settings with the ``facial_estimation`` method backed by ``provider``."""
    instance = {"type": provider, "config": config or {}}
    return make_settings(
        providers={
            "enabled": ["os_signal", "self_declaration", "facial_estimation"],
            "instances": {"facial_estimation": instance},
        },
        **overrides,
    )
