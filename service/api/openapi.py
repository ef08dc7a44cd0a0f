"""OpenAPI document: errors are documented as they are sent, RFC 9457 problem documents.

Security comes from the routes' credentials (``service.api.deps.Credential``, FastAPI security
dependencies), operation ids from the endpoints' names, and each operation's problems from
``service.api.responses``: nothing here lists routes by hand.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from service.api.json_endpoints import body_schemas
from service.api.problems import PROBLEM
from service.api.responses import problem_responses, route_errors

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
_DEFAULT = {
    "description": "Any other error, e.g. 500 `internal_error` (problem document)",
    "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def operation_id(route: APIRoute) -> str:
    """The endpoint function's name in camelCase: ``submit_evidence`` is ``submitEvidence``."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _document_problems(route: APIRoute, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's own validation error schema; ours is a problem document
    errors = route_errors(route, operation)
    for status, response in problem_responses(errors).items():
        if status in responses:
            raise ValueError(f"{route.path}: {status} is both a problem and another response")
        responses[status] = response
    responses["default"] = _DEFAULT
    operation["responses"] = dict(sorted(responses.items(), key=lambda kv: (kv[0] == "default", kv[0])))


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
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if isinstance(route, APIRoute) and route.include_in_schema:
                for method in route.methods or ():
                    _document_problems(route, doc["paths"][context.path][method.lower()])
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override hook
