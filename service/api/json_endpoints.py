"""Endpoints that read their own JSON body and answer pre-serialised JSON.

Refresh and decisions take only the Request (and their caller): the body is validated in one
pydantic call (JSON parsed in Rust) and the answer serialised once, where FastAPI would solve a
body parameter and validate the returned model again. The OpenAPI document stays the same: the
route declares its request schema (``request_body``) and response model explicitly.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request) -> bytes:
    """The whole body, read straight from ``receive`` (a small body is one message) rather than
    through Starlette's streaming reader, an async generator per request."""
    chunks: list[bytes] = []
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def parse_body(request: Request, model: type[M]) -> M:
    return parse_json(await read_body(request), model)


def parse_json(raw: bytes, model: type[M]) -> M:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        # Rendered by the one problem handler: 400 malformed_json or 422 validation_failed.
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None


def json_response(model: BaseModel, status: int = 200) -> Response:
    return Response(
        model.__pydantic_serializer__.to_json(model), status_code=status, media_type="application/json"
    )


def json_payload(payload: dict[str, Any]) -> Response:
    """Already-plain data (e.g. a batch answer built in a loop) straight to JSON bytes."""
    return Response(orjson.dumps(payload), media_type="application/json")


# Bodies documented by reference: the OpenAPI hook adds their schemas (and nested ones)
# to components, so no $ref in the document points nowhere.
DOCUMENTED_BODIES: dict[str, type[BaseModel]] = {}


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that documents a JSON body the endpoint parses itself."""
    DOCUMENTED_BODIES[model.__name__] = model
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def body_schemas() -> dict[str, Any]:
    """Component schemas for every documented body, nested models included."""
    out: dict[str, Any] = {}
    for name, model in DOCUMENTED_BODIES.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[name] = schema
    return out
