"""What each operation may answer: problems declared by class, beside the route that answers them.

Every problem an operation documents is an error class whose ``status`` and ``code`` are the ones
the service renders, from one of three sources:
- the route's credential (``Credential.errors``: 401, 403, and 415 when it also requires JSON, or
  reads the body itself as an admin action does);
- its input: any body can be too large (413); a parameter or a JSON body can fail validation
  (422); a JSON body can be malformed (400), and one that FastAPI parses can also be undecodable
  (400 ``malformed_body``). Bodies of other types are the endpoint's to declare;
- the use case's own errors, declared on the endpoint with ``@raises(...)``.

``tests/api/test_openapi_contract.py`` drives each documented code with a request that answers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from service.api.deps import Credential
from service.api.errors import BodyTooLarge, MalformedBody, MalformedJson, ValidationFailed
from service.api.problems import PROBLEM
from service.core.errors import AgebandError

Errors = tuple[type[AgebandError], ...]
E = TypeVar("E", bound=Callable[..., Any])

_DECLARED: dict[Callable[..., Any], Errors] = {}

# Every 503 carries it (``service.api.problems.problem_headers``); the SDKs wait that long.
RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before trying again (RFC 9110).",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


def raises(*errors: type[AgebandError]) -> Callable[[E], E]:
    """Declare the problems an endpoint's use case answers (beside its credential's and input's).

    Put it beside the route decorator: it records the endpoint and returns it unchanged, so it
    costs nothing per request."""

    def declare(endpoint: E) -> E:
        _DECLARED[endpoint] = errors
        return endpoint

    return declare


def credentials(dependant: Dependant) -> Iterator[Credential]:
    """The credentials a route's dependencies authenticate with, at any depth."""
    for sub in dependant.dependencies:
        if isinstance(sub.call, Credential):
            yield sub.call
        yield from credentials(sub)


def _input_errors(operation: dict[str, Any], *, parsed_by_fastapi: bool) -> Errors:
    body = operation.get("requestBody")
    json_body = body is not None and set(body.get("content", {})) == {"application/json"}
    errors: list[type[AgebandError]] = []
    if body is not None:
        errors.append(BodyTooLarge)
    if json_body:
        errors.append(MalformedJson)
        if parsed_by_fastapi:
            errors.append(MalformedBody)
    if json_body or operation.get("parameters"):
        errors.append(ValidationFailed)
    return tuple(errors)


def route_errors(route: APIRoute, operation: dict[str, Any]) -> list[type[AgebandError]]:
    """Every problem an operation documents, one class per (status, code), in a stable order."""
    found: dict[tuple[int, str], type[AgebandError]] = {}
    sources = [c.errors for c in credentials(route.dependant)]
    parsed = route.body_field is not None
    sources += [_input_errors(operation, parsed_by_fastapi=parsed), _DECLARED.get(route.endpoint, ())]
    for errors in sources:
        for error in errors:
            found.setdefault((error.status, error.code), error)
    return [found[key] for key in sorted(found)]


def problem_responses(errors: list[type[AgebandError]]) -> dict[str, Any]:
    """OpenAPI responses, one per status: the problem schema with ``code`` limited to its codes."""
    by_status: dict[int, list[type[AgebandError]]] = {}
    for error in errors:
        by_status.setdefault(error.status, []).append(error)
    out: dict[str, Any] = {}
    for status, group in sorted(by_status.items()):
        lines = "\n".join(f"- `{e.code}`: {e.title}" for e in group)
        out[str(status)] = {
            "description": f"Problem document; `code` is one of:\n{lines}",
            **({"headers": RETRY_AFTER} if status == 503 else {}),
            "content": {
                PROBLEM: {
                    "schema": {
                        "allOf": [
                            {"$ref": "#/components/schemas/Problem"},
                            {"properties": {"code": {"enum": [e.code for e in group]}}},
                        ]
                    }
                }
            },
        }
    return out
