"""A server span per HTTP request, when tracing is on (the app adds this middleware only then).

The span is named and tagged by the route template (``POST /v1/checks/{check_id}/evidence``),
never the raw path, which holds check ids; it continues the caller's trace (``traceparent``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability.tracing import Tracing


class TraceRequests:
    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        headers = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k == b"traceparent"
        }
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.tracing.span(method, {"http.request.method": method}, server=True, headers=headers) as span:
            try:
                await self.app(scope, receive, capture)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route is not None:
                    span.update_name(f"{method} {route}")
                self.tracing.set(
                    span, {"http.route": route or "unmatched", "http.response.status_code": status}
                )
                if status >= 500:
                    self.tracing.error(span)
