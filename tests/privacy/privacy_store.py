"""Helpers for the privacy tests: what a Redis prefix holds, read the way a reviewer would."""

from __future__ import annotations

from typing import Any

import redis.asyncio


async def mentions(admin: redis.asyncio.Redis, prefix: str, sid: str) -> dict[str, tuple[str, int]]:
    """Every key under the prefix whose name or content mentions ``sid``: (value text, TTL)."""
    found: dict[str, tuple[str, int]] = {}
    async for key in admin.scan_iter(match=f"{prefix}:*"):
        kind = (await admin.type(key)).decode()
        parts: list[Any] = []
        if kind == "string":
            parts = [await admin.get(key)]
        elif kind == "zset":
            parts = await admin.zrange(key, 0, -1)
        elif kind == "set":
            parts = list(await admin.smembers(key))
        elif kind == "list":
            parts = await admin.lrange(key, 0, -1)
        elif kind == "hash":
            parts = [x for kv in (await admin.hgetall(key)).items() for x in kv]
        elif kind == "stream":
            parts = [x for _, f in await admin.xrange(key) for kv in f.items() for x in kv]
        text = " ".join(p.decode() if isinstance(p, bytes) else str(p) for p in parts)
        if sid in key.decode() or sid in text:
            found[key.decode()] = (text, await admin.ttl(key))
    return found
