"""The Python SDK's API client against the running service: a check, refresh, decisions, batch,
tokens verified locally (the JWKS refetched on a rotation), the bundle kept fresh, and 503s
retried after their Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from ageband_client import Ageband, ApiError, InvalidToken
from answers import recording
from factories import DEMO_CLIENT_KEY, Running, make_settings, running
from redis_server import free_port
from tokens_forge import Forger

pytestmark = pytest.mark.anyio
ISSUER = "urn:ageband:dev"
ADULT = ("18_plus", None, None)


class Flaky(httpx.AsyncBaseTransport):
    """Answers the first ``failures`` requests with 503 and ``Retry-After``, then the service."""

    def __init__(self, inner: httpx.AsyncBaseTransport, failures: int, retry_after: str | None) -> None:
        self.inner, self.failures, self.retry_after, self.seen = inner, failures, retry_after, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen <= self.failures:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            problem = {"code": "store_unavailable", "status": 503}
            return httpx.Response(503, json=problem, headers=headers)
        return await self.inner.handle_async_request(request)


@asynccontextmanager
async def sdk(
    r: Running, transport: httpx.AsyncBaseTransport | None = None, **options: Any
) -> AsyncIterator[Ageband]:
    inner = httpx.ASGITransport(app=recording(r.app))
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        r.clock.advance(timedelta(seconds=seconds))

    async with httpx.AsyncClient(transport=transport or inner) as http:
        client = Ageband(
            "http://ageband.test", DEMO_CLIENT_KEY, client_id="demo", issuer=ISSUER, http=http,
            clock=lambda: r.clock.now().timestamp(), sleep=sleep, **options,
        )  # fmt: skip
        client.sleeps = sleeps  # type: ignore[attr-defined]
        yield client


async def test_check_refresh_verify_and_decide() -> None:
    async with running() as r, sdk(r) as app:
        check = await app.start_check(jurisdiction="default", subject="sdk-api-1")
        done = await app.submit_evidence(
            check["check_id"], {"method": "self_declaration", "birth_year": 1990}
        )
        assert done["outcome"] == "passed"
        claims = await app.verify_token(done["token"]["token"])
        assert claims.sub == check["sid"] and claims.age_band == "18_plus"
        fresh = await app.refresh(sid=check["sid"])
        assert (await app.verify_token(fresh["token"])).sub == check["sid"]
        assert (await app.get_check(check["check_id"]))["check_id"] == check["check_id"]
        d = await app.decide(
            action="profile.view", jurisdiction="default", actor=fresh["token"], target=("13_15", None, None)
        )
        bundle = await app.policy_bundle()
        local = bundle.decide("default", "profile.view", claims, ("13_15", None, None))
        assert (local.allowed, local.rule, local.reason) == (d["allowed"], d["rule"], d["reason"])
        batch = await app.decide_batch(
            action="profile.view", jurisdiction="default", actor=("18_plus", "effective", None),
            targets={"a": ("18_plus", None, None), "b": ("13_15", None, None), "c": fresh["token"]},
        )  # fmt: skip
        parties = {"a": ("18_plus", None, None), "b": ("13_15", None, None), "c": claims}
        adult = ("18_plus", "effective", None)
        expected = [t for t, p in parties.items() if bundle.is_allowed("default", "profile.view", adult, p)]
        assert batch["allowed"] == expected
        with pytest.raises(ApiError) as err:
            await app.decide(
                action="no.such",
                jurisdiction="default",
                actor=("18_plus", None, None),
                target=("18_plus", None, None),
            )
        assert (err.value.status, err.value.code) == (400, "unknown_action")


async def test_a_503_is_retried_after_its_retry_after() -> None:
    async with running() as r:
        flaky = Flaky(httpx.ASGITransport(app=recording(r.app)), failures=2, retry_after="7")
        async with sdk(r, flaky) as app:
            d = await app.decide(
                action="profile.view",
                jurisdiction="default",
                actor=("18_plus", None, None),
                target=("18_plus", None, None),
            )
            assert d["allowed"] is not None and flaky.seen == 3
            assert app.sleeps == [7.0, 7.0]  # type: ignore[attr-defined]
        flaky = Flaky(httpx.ASGITransport(app=recording(r.app)), failures=9, retry_after=None)
        async with sdk(r, flaky) as app:
            with pytest.raises(ApiError) as err:
                await app.refresh(sid="sid_" + "a" * 43)
            assert err.value.code == "store_unavailable" and flaky.seen == 4  # 1 + 3 retries
            assert app.sleeps == [0.5, 1.0, 2.0]  # type: ignore[attr-defined]


@pytest.mark.redis
async def test_a_real_503_from_the_service_is_retried_after_the_service_s_retry_after() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: every store call is a 503
    async with running(make_settings(store={"backend": "redis", "redis_url": dead})) as r, sdk(r) as app:
        with pytest.raises(ApiError) as err:
            await app.refresh(sid="sid_" + "a" * 43)
        assert (err.value.status, err.value.code) == (503, "store_unavailable")
        assert app.sleeps == [5.0, 5.0, 5.0]  # type: ignore[attr-defined]  # the service's Retry-After


async def test_a_key_rotation_is_followed_and_a_stale_bundle_refetched() -> None:
    async with running() as r, sdk(r) as app:
        _, token = await r.adult_token("sdk-api-2", 1990)
        first = await app.policy_bundle()
        assert await app.verify_token(token)
        # A new key the SDK has not seen: a token it signed makes the SDK refetch the JWKS once.
        from service.tokens.keys import KeyRing, KeyState, generate_key

        old = r.services.keyring.signing_key
        new = generate_key("EdDSA", state=KeyState.active)
        r.services.keyring.adopt(KeyRing([old.with_state(KeyState.retired), new]))
        r.clock.advance(timedelta(seconds=61))
        _, newer = await r.adult_token("sdk-api-3", 1990)
        assert (await app.verify_token(newer)).age_band == "18_plus"
        with pytest.raises(InvalidToken, match="unknown kid"):  # refetched, still unknown: refused
            await app.verify_token(Forger(new).token(Forger(new).header(kid="k" * 43)))
        # The bundle is kept until refresh_after, then refetched (signed by the new key).
        assert await app.policy_bundle() is first
        r.clock.advance(timedelta(seconds=first.refresh_after - r.clock.now().timestamp()))
        second = await app.policy_bundle()
        assert second is not first and second.issued_at > first.issued_at


async def test_a_cached_token_is_refused_once_its_key_leaves_the_jwks() -> None:
    async with running() as r, sdk(r, jwks_max_age=60) as app:
        _, token = await r.adult_token("sdk-api-4", 1990)
        claims = await app.verify_token(token)
        assert await app.verify_token(token) == claims
        assert app._tokens.hits == 1  # the second came from the cache
        from service.tokens.keys import KeyRing, KeyState, generate_key

        r.services.keyring.adopt(KeyRing([generate_key("EdDSA", state=KeyState.active)]))  # old key gone
        r.clock.advance(timedelta(seconds=61))  # the JWKS is due; the token is still within its exp
        assert claims.exp > r.clock.now().timestamp()
        with pytest.raises(InvalidToken, match="unknown kid"):
            await app.verify_token(token)
