"""The backends the contract suite runs on, each with a window onto its raw keys.

The window is what lets one suite assert backend-neutral facts: every key has a TTL,
key names follow the documented patterns, and time passing expires keys.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import redis.asyncio
from redis_server import glob_escape

from service.core.clock import FixedClock
from service.store.memory import MemoryStore
from service.store.redis import RedisStore


@dataclass
class MemoryBackend:
    store: MemoryStore
    clock: FixedClock
    prefix: str
    name: str = "memory"

    async def raw_keys(self) -> dict[str, float | None]:
        """Key name -> seconds left (None would mean no TTL)."""
        now = self.clock.now()
        return {k: (at - now).total_seconds() for k, at in self.store.keys_with_expiry()}

    async def pass_time(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))


@dataclass
class RedisBackend:
    store: RedisStore
    admin: redis.asyncio.Redis  # a second connection, so inspection never shares the store's
    prefix: str
    name: str = "redis"

    async def raw_keys(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        async for raw in self.admin.scan_iter(match=f"{glob_escape(self.prefix)}:*"):
            key = raw.decode() if isinstance(raw, bytes) else raw
            ms = await self.admin.pttl(key)
            out[key] = ms / 1000 if ms >= 0 else None
        return out

    async def pass_time(self, seconds: float) -> None:
        # Redis keeps its own time; keep the tests that need this few and short.
        await asyncio.sleep(seconds)


Backend = MemoryBackend | RedisBackend
# The whole store, every role: for the tests of the key space as a whole.
WholeStore = MemoryStore | RedisStore
