"""One observer per request: the canonical log line and the HTTP metrics, from one timing.

Both are keyed by the route template, never the raw path (which holds check ids). One
middleware rather than two keeps the per-request wrapping cost down on hot paths.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.services import Services
from service.audit.logging import get_logger


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = get_logger("ageband.http")
        self._bound: Any = None  # bound at the first request, as structlog caches it (a proxy costs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", "unmatched")
            log = self._bound
            if log is None:
                log = self._bound = self.log.bind()
            log.info(
                "request",
                method=scope["method"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            services: Services | None = getattr(scope["app"].state, "services", None)
            if services is not None:
                services.metrics.http_request(scope["method"], route, status, elapsed)
