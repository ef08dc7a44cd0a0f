"""Errors the store raises; the API renders them like every other AgebandError."""

from __future__ import annotations

from service.core.errors import AgebandError, Unavailable


class StoreUnavailable(Unavailable):
    """The backend cannot be reached. The detail names the failure, never keys or values."""

    code = "store_unavailable"
    title = "Store unavailable"


class InvalidCursor(AgebandError):
    """A due-list cursor that this store did not issue (clients pass cursors back)."""

    code = "invalid_cursor"
    title = "Invalid cursor"
