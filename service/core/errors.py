"""One error base for the whole service.

Every layer raises subclasses of :class:`AgebandError`, each in its domain's ``errors`` module
(``service/flows/errors.py``, ``providers/errors.py``, ...); the API renders them in one place
(``service/api/problems.py``) as RFC 9457 problem documents. ``code`` is stable and part of the
public contract: the README's error table is generated from these classes (``ageband errors``).

The status-only bases below (``NotFound``, ``Conflict``, ...) name no code: they are raised only
through a subclass that does, so every code the service answers says what went wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class AgebandError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str]  # set by every class that is raised; absent on the bases
    title: ClassVar[str]
    # Seconds a client should wait before trying again, sent as ``Retry-After``. Every 503 has one
    # (``Unavailable``); an instance's ``retry_after`` extra, when given, says it more exactly.
    retry_after_seconds: ClassVar[int | None] = None

    def __init__(self, detail: str, **extra: Any) -> None:
        if not hasattr(self, "code"):
            raise TypeError(f"{type(self).__name__} names no code: raise a subclass that does")
        super().__init__(detail)
        self.detail = detail
        self.extra: Mapping[str, Any] = extra

    @property
    def retry_after(self) -> float | None:
        """When to try again: the instance's ``retry_after`` extra, else its class's default."""
        given = self.extra.get("retry_after")
        if isinstance(given, int | float) and not isinstance(given, bool):
            return given
        return self.retry_after_seconds


class NotFound(AgebandError):
    status = 404
    title = "Not found"


class Conflict(AgebandError):
    status = 409
    title = "Conflict"


class Gone(AgebandError):
    status = 410
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
    """A passing outage (the store, a provider, an identity provider): answered with
    ``Retry-After``, which the SDKs honour before they retry."""

    status = 503
    title = "Service unavailable"
    retry_after_seconds = 5


class InvalidEvidence(AgebandError):
    """Evidence that does not fit the provider's schema (a 422, like any schema error)."""

    status = 422
    code = "invalid_evidence"
    title = "Invalid evidence"
