"""Fixtures for the store tests: every contract test runs once per backend.

The Redis backend is a real server (tests/redis_server.py), never a fake: the contract
is about atomicity and expiry, which only the real thing shows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from redis.asyncio.cluster import RedisCluster
from redis_cluster import local_cluster
from redis_server import delete_prefix, redis_url
from store_backends import Backend, MemoryBackend, RedisBackend, WholeStore
from store_factories import NOW

from service.core.clock import FixedClock
from service.store.memory import MemoryStore
from service.store.redis import RedisStore
from service.store.redis_url import connect
from service.store.roles import (
    AppealStore,
    CheckStore,
    ConnectionStore,
    ContentStore,
    CounterStore,
    EventStream,
    GuardianStore,
    PageStore,
    RecheckStore,
    RecordStore,
    RevocationStore,
    SanctionStore,
    SingleUse,
    SubjectStateStore,
    TimerStore,
)

# The contract is about answers, not latency: on a loaded machine a command may take seconds.
PATIENT_TIMEOUT = 15.0


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


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("cluster", marks=pytest.mark.cluster),
    ]
)
async def backend(request: pytest.FixtureRequest, clock: FixedClock, prefix: str) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend(store=MemoryStore(clock, prefix), clock=clock, prefix=prefix)
        return
    if request.param == "cluster":
        url = local_cluster().url  # redis+cluster://...: the store's own URL handling
        admin: redis.asyncio.Redis | RedisCluster = connect(url, socket_timeout=PATIENT_TIMEOUT)
    else:
        url = redis_url()
        admin = redis.asyncio.Redis.from_url(url)
    store = RedisStore.from_url(url, prefix, socket_timeout=PATIENT_TIMEOUT)
    try:
        yield RedisBackend(store=store, admin=admin, prefix=prefix)
    finally:
        await delete_prefix(admin, prefix)
        await store.close()
        await admin.aclose()


@pytest.fixture
def store(backend: Backend) -> WholeStore:
    return backend.store


# One fixture per role: each role's slice of the contract suite sees only that role.


@pytest.fixture
def check_store(store: WholeStore) -> CheckStore:
    return store.checks


@pytest.fixture
def record_store(store: WholeStore) -> RecordStore:
    return store.records


@pytest.fixture
def revocation_store(store: WholeStore) -> RevocationStore:
    return store.revocations


@pytest.fixture
def single_use(store: WholeStore) -> SingleUse:
    return store.once


@pytest.fixture
def counter_store(store: WholeStore) -> CounterStore:
    return store.counters


@pytest.fixture
def sanction_store(store: WholeStore) -> SanctionStore:
    return store.sanctions


@pytest.fixture
def subject_state_store(store: WholeStore) -> SubjectStateStore:
    return store.subject_states


@pytest.fixture
def timer_store(store: WholeStore) -> TimerStore:
    return store.timers


@pytest.fixture
def event_stream(store: WholeStore) -> EventStream:
    return store.events


@pytest.fixture
def recheck_store(store: WholeStore) -> RecheckStore:
    return store.rechecks


@pytest.fixture
def appeal_store(store: WholeStore) -> AppealStore:
    return store.appeals


@pytest.fixture
def guardian_store(store: WholeStore) -> GuardianStore:
    return store.guardians


@pytest.fixture
def connection_store(store: WholeStore) -> ConnectionStore:
    return store.connections


@pytest.fixture
def page_store(store: WholeStore) -> PageStore:
    return store.pages


@pytest.fixture
def content_store(store: WholeStore) -> ContentStore:
    return store.content
