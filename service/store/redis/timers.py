"""Lifecycle timers (the worker's due index), in Redis: a sorted set of sids by day per client."""

from __future__ import annotations

from datetime import date
from typing import Any

from service.store.codec import day_score, score_day
from service.store.keys import require_ttl
from service.store.redis.connection import INDEX, Connection, text, unavailable


class RedisTimers:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._r = conn.r
        self._keys = conn.keys
        self._index = conn.r.register_script(INDEX)

    async def schedule(self, client_id: str, sid: str, at: date, ttl: int) -> None:
        with unavailable():
            await self._index(
                keys=[self._keys.timers(client_id)], args=[day_score(at), sid, require_ttl(ttl), "SET"]
            )

    async def timers_due(self, client_id: str, before: date, limit: int) -> list[tuple[str, date]]:
        with unavailable():
            rows: list[Any] = await self._r.zrangebyscore(
                self._keys.timers(client_id), "-inf", f"({day_score(before)}", start=0, num=limit,
                withscores=True,
            )  # fmt: skip
        return [(text(sid), score_day(float(score))) for sid, score in rows]

    async def unschedule(self, client_id: str, sid: str) -> None:
        key = self._keys.timers(client_id)
        with unavailable():
            await self._c.replicated(lambda r: r.zrem(key, sid))
