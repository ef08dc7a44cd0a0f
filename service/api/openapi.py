"""OpenAPI document: errors are documented as they are sent, RFC 9457 problem documents."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.api.fastpath import body_schemas

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable and meant for programs.",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:ageband:problem:unknown_jurisdiction"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "examples": ["unknown_jurisdiction"]},
        "detail": {"type": "string"},
    },
    "additionalProperties": True,
}
_PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_PUBLIC = {"/healthz", "/readyz", "/.well-known/jwks.json"}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for name, schema in body_schemas().items():
            schemas.setdefault(name, schema)
        schemas["Problem"] = PROBLEM_SCHEMA
        doc["components"]["securitySchemes"] = {
            "apiKey": {"type": "http", "scheme": "bearer", "description": "A client's API key."}
        }
        for path, ops in doc["paths"].items():
            for op in ops.values():
                responses = op.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "Validation failed", "content": _PROBLEM_CONTENT}
                responses["default"] = {
                    "description": "Error (problem document)",
                    "content": _PROBLEM_CONTENT,
                }
                if path not in _PUBLIC:
                    op["security"] = [{"apiKey": []}]
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override hook
