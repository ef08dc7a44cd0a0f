"""Size limits before parsing: a request body larger than the limit never reaches a parser."""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import BodyTooLarge
from service.api.problems import of

_PLAIN_PATHS = 256


class BodyLimit:
    """Rejects by Content-Length up front, and counts streamed bytes for chunked bodies.

    Overflow while streaming raises an HTTPException(413): FastAPI re-raises those from body
    parsing (other exceptions there become a generic 400), so the problem renderer answers.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        per_path: Mapping[str, int] | None = None,
        per_pattern: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})  # e.g. the batch decision endpoint takes bigger bodies
        # Paths with parameters, as regular expressions (e.g. evidence images under a check id).
        self.per_pattern = [(re.compile(p), n) for p, n in (per_pattern or {}).items()]
        self._plain: set[str] = set()  # so a hot path is not matched against every pattern again

    def limit_for(self, path: str) -> int:
        if path in self.per_path:
            return self.per_path[path]
        if path in self._plain:
            return self.max_bytes
        limit = next((n for p, n in self.per_pattern if p.fullmatch(path)), None)
        if limit is not None:
            return limit
        # Remembered: paths that match no pattern (no ids in them), as many as fit; others of
        # them (unknown paths, say) are matched again each time.
        if len(self._plain) < _PLAIN_PATHS:
            self._plain.add(path)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > max_bytes):
                response = of(BodyTooLarge, f"the body exceeds {max_bytes} bytes", limit=max_bytes)
                await response(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise HTTPException(413)
            return message

        await self.app(scope, limited, send)


# Evidence may carry an image: up to 5 MiB, which is 6.7 MiB as base64 in JSON.
EVIDENCE_PATHS = r"/v1/checks/[^/]{1,64}/evidence(/upload)?"
# Review support: an item's frames, each an image.
REVIEW_PATH = r"/v1/content/[^/]{1,64}/review"
# The check page's photo form carries a photo too.
PAGE_PHOTO_PATH = r"/check/s/[^/]{1,128}/photo"
# Wallet responses: direct_post(.jwt) from the wallet, the DC API's result from the page.
WALLET_PATHS = (
    r"/v1/wallet/[^/]{1,64}/[^/]{1,64}/response|/v1/checks/[^/]{1,64}/presentation/[^/]{1,64}/dc-api/response"
)
