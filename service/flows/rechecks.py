"""Due re-checks: the caller's sids whose re-check date falls before a day, in order."""

from __future__ import annotations

from datetime import date, timedelta

from service.clients.registry import Client
from service.core.dates import day_of
from service.flows.context import Services
from service.store.roles import DuePage

MAX_PAGE = 1000


async def due(svc: Services, client: Client, before: date | None, cursor: str | None, limit: int) -> DuePage:
    # By default, everything due today or earlier: refresh reports recheck_due from the re-check
    # day itself, so the list includes that day too (re-checks err toward sooner).
    day = before or day_of(svc.clock.now()) + timedelta(days=1)
    return await svc.store.records.due(client.id, day, cursor, min(max(limit, 1), MAX_PAGE))
