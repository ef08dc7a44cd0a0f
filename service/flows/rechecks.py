"""Due re-checks: the caller's sids whose re-check date falls before a day, in order."""

from __future__ import annotations

from datetime import date, timedelta

from service.clients.registry import Client
from service.core.clock import Clock
from service.core.dates import day_of
from service.store.roles import DuePage, RecordStore

MAX_PAGE = 1000


async def due(
    records: RecordStore, clock: Clock, client: Client, before: date | None, cursor: str | None, limit: int
) -> DuePage:
    # By default, everything due today or earlier: refresh reports recheck_due from the re-check
    # day itself, so the list includes that day too (re-checks err toward sooner).
    day = before or day_of(clock.now()) + timedelta(days=1)
    return await records.due(client.id, day, cursor, min(max(limit, 1), MAX_PAGE))
