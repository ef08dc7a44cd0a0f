"""One error base for the whole service.

Every layer raises subclasses of :class:`AgebandError`; the API renders them once, as
RFC 9457 problem documents. ``code`` is stable and part of the public contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class AgebandError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: Mapping[str, Any] = extra


class NotFound(AgebandError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(AgebandError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Gone(AgebandError):
    status = 410
    code = "gone"
    title = "Gone"


class Unauthorized(AgebandError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(AgebandError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class TooManyAttempts(AgebandError):
    status = 429
    code = "attempts_exhausted"
    title = "Too many attempts"


class Unavailable(AgebandError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"


class InvalidEvidence(AgebandError):
    """Evidence that does not fit the provider's schema (a 422, like any schema error)."""

    status = 422
    code = "invalid_evidence"
    title = "Invalid evidence"
