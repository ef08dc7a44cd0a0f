"""Fixtures for the store tests: every contract test runs once per backend.

The Redis backend is a real server (tests/redis_server.py), never a fake: the contract
is about atomicity and expiry, which only the real thing shows.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# tests/redis_server.py is shared by several test folders; pytest only puts each
# conftest's own folder on sys.path, so add the tests root once, explicitly.
_TESTS_ROOT = str(Path(__file__).resolve().parents[1])
if _TESTS_ROOT not in sys.path:
    sys.path.insert(0, _TESTS_ROOT)

import redis.asyncio  # noqa: E402 - after the path set-up above, like the imports below
from redis_server import delete_prefix, redis_url  # noqa: E402
from store_backends import Backend, MemoryBackend, RedisBackend  # noqa: E402
from store_factories import NOW  # noqa: E402

from service.core.clock import FixedClock  # noqa: E402
from service.store.base import Store  # noqa: E402
from service.store.memory import MemoryStore  # noqa: E402
from service.store.redis import RedisStore  # noqa: E402


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own: tests share a database and clean up only this."""
    return f"t{uuid.uuid4().hex[:16]}"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def backend(request: pytest.FixtureRequest, clock: FixedClock, prefix: str) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend(store=MemoryStore(clock, prefix), clock=clock, prefix=prefix)
        return
    url = redis_url()
    admin = redis.asyncio.Redis.from_url(url)
    store = RedisStore.from_url(url, prefix)
    try:
        yield RedisBackend(store=store, admin=admin, prefix=prefix)
    finally:
        await delete_prefix(admin, prefix)
        await store.close()
        await admin.aclose()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.store
