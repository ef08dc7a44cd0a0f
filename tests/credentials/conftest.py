"""Fixtures for credential tests: the anyio backend and a fresh test PKI per module."""

from __future__ import annotations

import pytest
from credential_factory import Pki


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.make()
