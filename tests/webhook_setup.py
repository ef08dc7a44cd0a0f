"""Settings for worker tests: the Redis store under a prefix of the test's own, and client
``demo`` whose webhook is a local receiver."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio
from factories import POLICIES, make_settings
from redis_server import delete_prefix, redis_url
from webhook_receiver import Receiver, start_receiver, webhook_clients_file

from service.app import DEMO_ADMIN_KEY, DEMO_CLIENT_KEY
from service.flows.worker import WorkerConfig, deliver_once
from service.settings import Settings


def worker_settings(directory: Path, receiver: Receiver, prefix: str, **overrides: Any) -> Settings:
    clients = webhook_clients_file(directory, receiver, DEMO_CLIENT_KEY, DEMO_ADMIN_KEY)
    store = {"backend": "redis", "redis_url": redis_url(), "prefix": prefix}
    return make_settings(clients_file=clients, store=store, **overrides)


@asynccontextmanager
async def webhook_env(directory: Path, **overrides: Any) -> AsyncIterator[tuple[Settings, Receiver, str]]:
    """A receiver, settings pointing at it, and clean-up of the test's Redis keys."""
    prefix = f"w{uuid.uuid4().hex[:12]}"
    receiver = start_receiver()
    admin = redis.asyncio.Redis.from_url(redis_url())
    try:
        yield worker_settings(directory, receiver, prefix, **overrides), receiver, prefix
    finally:
        receiver.close()
        await delete_prefix(admin, prefix)
        await admin.aclose()


def worker_env(settings: Settings, prefix: str) -> dict[str, str]:
    """The environment an ``ageband worker`` subprocess needs to share this app's Redis and clients."""
    return {
        "AGEBAND_STORE__BACKEND": "redis",
        "AGEBAND_STORE__REDIS_URL": redis_url(),
        "AGEBAND_STORE__PREFIX": prefix,
        "AGEBAND_CLIENTS_FILE": str(settings.clients_file),
        "AGEBAND_POLICY_PATH": str(POLICIES),
        "AGEBAND_PEPPER": "p" * 32,
    }


FAST = WorkerConfig(consumer="t1", block_ms=0, timeout_s=2.0, claim_idle_ms=5000, backoff_base_s=0.05)


async def drain(run_services: object, cfg: WorkerConfig = FAST, rounds: int = 40) -> None:
    """Deliver until a few rounds in a row find nothing (retries wait out their backoff)."""
    from service.api.services import Services

    assert isinstance(run_services, Services)
    idle = 0
    async with httpx.AsyncClient(timeout=cfg.timeout_s) as http:
        for _ in range(rounds):
            n = await deliver_once(run_services.worker, http, cfg)
            idle = idle + 1 if n == 0 else 0
            if idle >= 5:
                return
            await asyncio.sleep(0.03)
