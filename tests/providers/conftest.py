"""Fixtures for the provider tests: the anyio backend, a pinned clock and a provider context.

``fixtures_pkg`` (real modules that entry points in the registry tests point at) lives in
this folder; pytest puts the folder on ``sys.path`` for its test modules, and this makes that
explicit, so that ``EntryPoint.load`` finds the package under any import mode.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from provider_cases import DEFAULT_BANDS, PINNED, close_built, make_context  # noqa: E402 - after the path set-up

from providers.base import ProviderContext  # noqa: E402
from service.core.clock import FixedClock  # noqa: E402


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
async def _close_providers(anyio_backend: str) -> AsyncIterator[None]:
    """Providers a test built close their connections on the test's own event loop."""
    yield
    await close_built()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(PINNED)


@pytest.fixture
def ctx(clock: FixedClock) -> ProviderContext:
    return make_context(clock, DEFAULT_BANDS)
