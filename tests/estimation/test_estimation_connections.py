"""Connections to the vendor: one pool per provider, reused between calls, capped, and closed at
shutdown. Counted at the local vendor server, which sees each connection and each client port."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import pytest
from estimation_context import estimation_context, estimation_settings
from estimation_vendor import Vendor, face_b64
from factories import running

from providers.base import Closeable, Signal
from providers.errors import ProviderBadResponse
from providers.http_estimation import HttpEstimationProvider


@pytest.fixture
async def provider(vendor: Vendor) -> AsyncIterator[HttpEstimationProvider]:
    built = HttpEstimationProvider("facial_estimation", vendor.config("ok", max_connections=2))
    yield built
    await built.aclose()


async def _closed_at_vendor(vendor: Vendor, peer: int, within: float = 3.0) -> bool:
    """Whether the vendor saw the connection from ``peer`` end (its handler thread notices soon)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with vendor.lock:
            if peer not in vendor.open_peers:
                return True
        await anyio.sleep(0.02)
    return False


@pytest.mark.anyio
async def test_consecutive_calls_reuse_one_connection(
    vendor: Vendor, provider: HttpEstimationProvider
) -> None:
    before, received = vendor.connections, len(vendor.received)
    for _ in range(3):
        outcome = await provider.submit({"image": face_b64(30, 2)}, estimation_context())
        assert isinstance(outcome, Signal)
    peers = {r.peer for r in vendor.received[received:]}
    assert len(peers) == 1
    assert vendor.connections - before == 1
    (peer,) = peers
    await provider.aclose()
    assert await _closed_at_vendor(vendor, peer)


@pytest.mark.anyio
async def test_concurrent_calls_stay_within_max_connections(
    vendor: Vendor, provider: HttpEstimationProvider
) -> None:
    before = vendor.connections
    outcomes: list[object] = []

    async def one() -> None:
        outcomes.append(await provider.submit({"image": face_b64(30, 2)}, estimation_context()))

    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(one)
    assert len(outcomes) == 6 and all(isinstance(o, Signal) for o in outcomes)
    assert 1 <= vendor.connections - before <= 2


@pytest.mark.anyio
async def test_a_connection_left_unread_is_dropped_not_reused(vendor: Vendor) -> None:
    """An oversize answer is abandoned mid-body: that connection must not serve the next call."""
    config = {
        **vendor.config(),
        "base_url": vendor.url,
        "age_path": "/huge/age",
        "age_liveness_path": "/ok/age-antispoofing",
    }
    provider = HttpEstimationProvider("facial_estimation", config)
    try:
        before, received = vendor.connections, len(vendor.received)
        with pytest.raises(ProviderBadResponse):
            await provider.submit({"image": face_b64(30, 2)}, estimation_context())
        for _ in range(2):
            outcome = await provider.submit({"image": face_b64(30, 2)}, estimation_context(liveness=True))
            assert isinstance(outcome, Signal)
        first, *rest = (r.peer for r in vendor.received[received:])
        assert len(set(rest)) == 1 and first not in rest
        assert vendor.connections - before == 2
    finally:
        await provider.aclose()


@pytest.mark.anyio
async def test_aclose_is_safe_before_use_and_twice_and_a_later_call_reconnects(vendor: Vendor) -> None:
    provider = HttpEstimationProvider("facial_estimation", vendor.config())
    assert isinstance(provider, Closeable)
    await provider.aclose()  # nothing open yet
    assert isinstance(await provider.submit({"image": face_b64()}, estimation_context()), Signal)
    await provider.aclose()
    await provider.aclose()
    assert isinstance(await provider.submit({"image": face_b64()}, estimation_context()), Signal)
    await provider.aclose()


@pytest.mark.anyio
async def test_the_service_reuses_the_connection_across_checks_and_closes_it_at_shutdown(
    vendor: Vendor,
) -> None:
    received = len(vendor.received)
    async with running(estimation_settings("http_estimation", vendor.config())) as app:
        for subject in ("conn-user-1", "conn-user-2"):
            started = await app.start_check(subject)
            body = {"method": "facial_estimation", "image": face_b64(35, 2)}
            r = await app.evidence(started["check_id"], body)
            assert r.status_code == 200 and r.json()["outcome"] == "passed", r.text
        peers = {r.peer for r in vendor.received[received:]}
        assert len(peers) == 1
        (peer,) = peers
        with vendor.lock:
            assert peer in vendor.open_peers  # kept open between checks
    assert await _closed_at_vendor(vendor, peer)  # the lifespan's teardown closed it
