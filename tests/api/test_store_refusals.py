"""A store that answers but refuses the command (out of memory, here) is the store failing, not
the request: 503 ``store_unavailable`` with a wait, never a 500, and nothing half-written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from factories import AUTH, make_settings, running
from redis_server import start_server

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


@pytest.fixture
def full_redis() -> Iterator[str]:
    """A private, real Redis whose memory limit is already passed: it refuses every write (OOM)
    and still answers reads, as a production Redis at maxmemory with noeviction does."""
    url, stop = start_server()
    admin = redis.Redis.from_url(url)
    try:
        admin.config_set("maxmemory", 1)
        admin.config_set("maxmemory-policy", "noeviction")
        yield url
    finally:
        admin.close()
        stop()


async def test_a_store_out_of_memory_answers_503_store_unavailable_and_keeps_nothing(full_redis: str) -> None:
    settings = make_settings(store={"backend": "redis", "redis_url": f"{full_redis}/0", "prefix": "oom"})
    async with running(settings) as run:
        r = await run.http.post("/v1/checks", json={"subject": "u1", "jurisdiction": "default"}, headers=AUTH)
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["Retry-After"] == "5"
        problem = r.json()
        assert problem["code"] == "store_unavailable"
        # The class of the failure, never a key, a value or the store's address.
        assert problem["detail"] == "the store refused the command (OutOfMemoryError)"
        assert "127.0.0.1" not in r.text and "oom:" not in r.text
    admin = redis.Redis.from_url(full_redis)
    try:
        assert admin.keys("oom:*") == []  # the refused check left nothing behind
    finally:
        admin.close()
