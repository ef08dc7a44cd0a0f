"""Webhook delivery by the worker against a real receiver, on a real Redis: signatures that a
Standard Webhooks verifier accepts, retries with backoff, dead letters, one id per event."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from factories import AUTH, running
from webhook_setup import FAST, drain, webhook_env

from service.flows.worker import WorkerConfig

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


async def test_check_completed_is_delivered_signed(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, receiver, _), running(settings) as run:
        await run.services.store.events.ensure_group(FAST.group)
        sid, _ = await run.adult_token("hooked-user")
        await drain(run.services)
        (event,) = receiver.wait_for(1, event_type="check.completed")
        assert event["data"] == {
            "sid": sid, "check_id": event["data"]["check_id"], "outcome": "passed",
            "band": "18_plus", "level": "basic", "reason": None, "upper_level": None,
        }  # fmt: skip
        assert receiver.rejected == 0
        assert set(receiver.arrivals.values()) == {1}
        lines = [e for e in run.log_lines() if e.get("event") == "webhook.delivered"]
        assert lines and all("hooks" not in str(v) for e in lines for v in e.values())  # no URL logged


async def test_failures_are_retried_with_the_same_id_then_delivered(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, receiver, _), running(settings) as run:
        receiver.fail_first = 2
        await run.services.store.events.ensure_group(FAST.group)
        await run.adult_token("retry-user")
        await drain(run.services)
        (event_id,) = list(receiver.effects)
        assert receiver.arrivals[event_id] == 3  # two 500s, then 2xx: one id throughout
        retries = [e for e in run.log_lines() if e.get("event") == "webhook.retry"]
        assert [e["attempt"] for e in retries] == [1, 2]


def test_backoff_doubles_and_is_capped() -> None:
    cfg = WorkerConfig(consumer="x", backoff_base_s=5, backoff_max_s=60)
    delays = [cfg.backoff_ms(n) for n in range(1, 7)]
    for got, base in zip(delays, [5, 10, 20, 40, 60, 60], strict=True):
        assert base * 1000 <= got <= base * 1100
    with pytest.raises(ValueError, match="twice"):
        WorkerConfig(consumer="x", timeout_s=10, claim_idle_ms=5000)


async def test_after_max_attempts_the_event_is_dead_lettered(tmp_path: Path) -> None:
    cfg = WorkerConfig(
        consumer="t2", block_ms=0, timeout_s=2.0, claim_idle_ms=5000, backoff_base_s=0.02, max_attempts=3
    )
    async with webhook_env(tmp_path) as (settings, receiver, _), running(settings) as run:
        receiver.status = 503
        await run.services.store.events.ensure_group(cfg.group)
        await run.adult_token("dead-user")
        await drain(run.services, cfg)
        (dead,) = await run.services.store.events.dead_letters(10)
        assert dead.type == "check.completed"
        assert dead.attempt == 3
        assert receiver.arrivals[dead.event_id] == 3
        assert receiver.effects == {}


async def test_gone_endpoints_are_dead_lettered_at_once(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, receiver, _), running(settings) as run:
        receiver.status = 410
        await run.services.store.events.ensure_group(FAST.group)
        await run.adult_token("gone-user")
        await drain(run.services)
        (dead,) = await run.services.store.events.dead_letters(10)
        assert receiver.arrivals[dead.event_id] == 1


async def test_revocation_by_the_app_is_an_event_too(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, receiver, _), running(settings) as run:
        await run.services.store.events.ensure_group(FAST.group)
        sid, _ = await run.adult_token("revoked-user")
        r = await run.http.post("/v1/subjects/revoke", json={"sid": sid}, headers=AUTH)
        assert r.status_code == 200, r.text
        await drain(run.services)
        (revoked,) = receiver.wait_for(1, event_type="subject.revoked")
        assert revoked["data"] == {"sid": sid, "reason": "app_request"}


async def test_two_workers_share_the_stream_without_duplicates(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, receiver, _), running(settings) as run:
        await run.services.store.events.ensure_group(FAST.group)
        for i in range(8):
            await run.adult_token(f"many-{i}")
        one = WorkerConfig(consumer="a", block_ms=0, timeout_s=2.0, claim_idle_ms=5000, batch=2)
        two = WorkerConfig(consumer="b", block_ms=0, timeout_s=2.0, claim_idle_ms=5000, batch=2)
        await asyncio.gather(drain(run.services, one), drain(run.services, two))
        receiver.wait_for(8)
        assert set(receiver.arrivals.values()) == {1}  # every event delivered exactly once
