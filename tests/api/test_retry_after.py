"""Every 503 says when to try again (``Retry-After``), which the SDKs honour before they retry.

The API's outages are covered where they happen (the store, a provider, an identity provider, a
method taken out): here, that no 503 class lacks a wait, and the answers outside the API's
problem renderer (the hosted check page, readiness). ``tests/answers.py`` also fails the session
on any 503 a test app gives without the header.
"""

from __future__ import annotations

import pytest
from factories import AUTH, make_settings, running
from redis_server import free_port

from service.api.problems import problem_headers
from service.cli.error_table import error_classes
from service.core.errors import AgebandError

pytestmark = pytest.mark.anyio


def test_every_503_error_names_a_wait() -> None:
    unavailable = [cls for cls in error_classes() if cls.status == 503]
    assert {cls.code for cls in unavailable} >= {"store_unavailable", "provider_unavailable"}
    assert all((cls.retry_after_seconds or 0) >= 1 for cls in unavailable), unavailable


def test_an_error_s_own_wait_wins_and_is_whole_seconds() -> None:
    [store] = [cls for cls in error_classes() if cls.code == "store_unavailable"]
    error: AgebandError = store("down", retry_after=2.2)
    assert error.retry_after == 2.2
    assert problem_headers(error.status, error.retry_after) == {"Retry-After": "3"}
    assert problem_headers(503) == {"Retry-After": "5"}  # never a 503 without one
    assert problem_headers(503, 0.01) == {"Retry-After": "1"}  # never "try at once"
    assert problem_headers(404) == {}


@pytest.mark.redis
async def test_the_check_page_and_readiness_say_when_the_store_is_back() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with running(make_settings(store={"backend": "redis", "redis_url": dead})) as run:
        api = await run.http.post(
            "/v1/checks", json={"subject": "u", "jurisdiction": "default"}, headers=AUTH
        )
        assert (api.status_code, api.headers["Retry-After"]) == (503, "5")
        for accept in ("text/html", "application/json"):
            page = await run.http.get("/check/s/some-session", headers={"Accept": accept})
            assert (page.status_code, page.headers["Retry-After"]) == (503, "5"), page.text
        ready = await run.http.get("/readyz")
        assert (ready.status_code, ready.headers["Retry-After"]) == (503, "5")
