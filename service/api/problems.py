"""Every error leaves as an RFC 9457 problem document with a stable ``code``, rendered here and
only here; the error classes live in their domains' ``errors`` modules."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from service.api.errors import (
    BodyTooLarge,
    HttpError,
    InternalError,
    MalformedBody,
    MalformedJson,
    MethodNotAllowedOnRoute,
    NoSuchRoute,
    UnsupportedMediaType,
    ValidationFailed,
)
from service.audit.logging import get_logger
from service.core.errors import AgebandError, Unavailable

PROBLEM = "application/problem+json"


_HTTP_CODES: dict[int, type[AgebandError]] = {
    cls.status: cls
    for cls in (MalformedBody, NoSuchRoute, MethodNotAllowedOnRoute, BodyTooLarge, UnsupportedMediaType)
}


def problem_headers(status: int, retry_after: float | None = None) -> dict[str, str]:
    """What a problem of this status carries beside its body: the scheme on a 401 (RFC 6750), and
    ``Retry-After`` in whole seconds on every 503 (and wherever a wait is known, as on a 429)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if retry_after is None and status == 503:
        retry_after = Unavailable.retry_after_seconds
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return headers


def problem(
    status: int, code: str, title: str, detail: str, *, wait: float | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": f"urn:ageband:problem:{code}", "title": title, "status": status, "code": code}
    body["detail"] = detail
    body.update(extra)
    headers = problem_headers(status, wait)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers or None)


def of(error: type[AgebandError], detail: str, **extra: Any) -> JSONResponse:
    return problem(error.status, error.code, error.title, detail, wait=error.retry_after_seconds, **extra)


def rendered(exc: AgebandError) -> JSONResponse:
    return problem(exc.status, exc.code, exc.title, exc.detail, wait=exc.retry_after, **exc.extra)


def validation_problem(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return of(MalformedJson, "the body is not valid JSON")
    # Never echo the input: it may be personal (a birth date, a subject reference).
    safe = [
        {"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type"), "msg": e.get("msg")}
        for e in errors[:20]
    ]
    return of(ValidationFailed, "the request does not fit the schema", errors=safe)


def http_problem(exc: StarletteHTTPException) -> JSONResponse:
    known = _HTTP_CODES.get(exc.status_code, HttpError)
    response = problem(exc.status_code, known.code, known.title, known.title.lower())
    if exc.headers:  # e.g. the Allow header that RFC 9110 requires on every 405
        response.headers.update(exc.headers)
    return response


def known_problem(exc: Exception) -> JSONResponse | None:
    """The problem document for an error we expect, or None for anything else."""
    if isinstance(exc, AgebandError):
        return rendered(exc)
    if isinstance(exc, RequestValidationError):
        return validation_problem(exc)
    if isinstance(exc, StarletteHTTPException):
        return http_problem(exc)
    return None


def install(app: FastAPI) -> None:
    log = get_logger("ageband.http")

    @app.exception_handler(AgebandError)
    async def _ours(_: Request, exc: AgebandError) -> JSONResponse:
        return rendered(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_problem(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", exc_info=exc)
        return of(InternalError, "an unexpected error occurred")
