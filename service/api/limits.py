"""Size limits before parsing: a request body larger than the limit never reaches a parser."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import problem


class BodyLimit:
    """Rejects by Content-Length up front, and counts streamed bytes for chunked bodies.

    Overflow while streaming raises an HTTPException(413): FastAPI re-raises those from body
    parsing (other exceptions there become a generic 400), so the problem renderer answers.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                response = problem(
                    413, "body_too_large", "Request body too large",
                    f"the body exceeds {self.max_bytes} bytes", limit=self.max_bytes,
                )  # fmt: skip
                await response(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413)
            return message

        await self.app(scope, limited, send)
