"""Due re-checks: the caller's sids whose re-check date falls before a day, in order."""

from __future__ import annotations

from datetime import date

from service.clients.registry import Client
from service.flows.context import Services
from service.store.base import DuePage

MAX_PAGE = 1000


async def due(svc: Services, client: Client, before: date | None, cursor: str | None, limit: int) -> DuePage:
    day = before or svc.clock.now().date()
    return await svc.store.due(client.id, day, cursor, min(max(limit, 1), MAX_PAGE))
