"""Content tests drive the real app through tests/factories.py; anyio runs them on asyncio."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
