"""Fixtures for the estimation tests: anyio on asyncio, and the fake vendor on loopback."""

from __future__ import annotations

import pytest
from estimation_vendor import Vendor, shared_vendor


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def vendor() -> Vendor:
    """One fake vendor per test process (the conformance cases share it)."""
    return shared_vendor()
