"""What the app answers across the test suite, checked against openapi.yaml at the session's end.

``factories.running`` serves every test app through ``recording``, which notes each answer as
(method, route template, status, problem code). An answer that openapi.yaml does not document
for its operation (status, and code for a problem document) fails the session: see
``tests/conftest.py``, which also gathers the answers of pytest-xdist workers. So does a 503
without ``Retry-After`` (``NO_RETRY_AFTER``): the SDKs wait on it before they retry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Answer = tuple[str, str, int, str]  # method, route template, status, code ("" for no problem)
ANSWERED: set[Answer] = set()
NO_RETRY_AFTER: set[Answer] = set()  # 503s answered without a Retry-After header
PROBLEM = "application/problem+json"


def recording(app: ASGIApp) -> ASGIApp:
    async def record(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        status = 0
        body: bytearray | None = None  # collected for problem documents only
        retry_after = False

        async def watch(message: Message) -> None:
            nonlocal status, body, retry_after
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = dict(message.get("headers", []))
                retry_after = headers.get(b"retry-after", b"").isdigit()
                ctype = headers.get(b"content-type", b"")
                body = bytearray() if ctype.decode("latin-1").startswith(PROBLEM) else None
            elif message["type"] == "http.response.body" and body is not None:
                body.extend(message.get("body", b""))
            await send(message)

        await app(scope, receive, watch)
        route = getattr(scope.get("route"), "path", None)
        if route is not None and status:
            code = json.loads(bytes(body)).get("code", "") if body else ""
            ANSWERED.add((scope["method"], route, status, code))
            if status == 503 and not retry_after:
                NO_RETRY_AFTER.add((scope["method"], route, status, code))

    return record


def documented_codes(response: dict[str, Any]) -> list[str]:
    """The ``code`` values a documented problem response lists (none for other responses)."""
    schema = response.get("content", {}).get(PROBLEM, {}).get("schema", {})
    return [
        c
        for part in schema.get("allOf", [])
        for c in part.get("properties", {}).get("code", {}).get("enum", [])
    ]


def undocumented(answers: Iterable[Answer], doc: dict[str, Any]) -> list[str]:
    """Each answer the document does not list for its operation. Requests that match no operation
    (a wrong method on a known path, HEAD) are the router's, not an operation's: left out."""
    out = []
    for method, route, status, code in sorted(answers):
        op = doc["paths"].get(route, {}).get(method.lower())
        if op is None:
            continue
        response = op["responses"].get(str(status))
        if response is None or (code and code not in documented_codes(response)):
            out.append(f"{op['operationId']} ({method} {route}) answered {status} {code or ''}".rstrip())
    return out


def load_document(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc
