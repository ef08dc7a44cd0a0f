"""Errors raised by the tokens package."""

from __future__ import annotations

from service.core.errors import AgebandError, Unauthorized


class KeyConfigError(AgebandError):
    """A signing key or key ring that cannot be used. Messages name files, never key material."""

    status = 500
    code = "key_config_error"
    title = "Signing key configuration error"


class InvalidToken(Unauthorized):
    """A token that failed verification.

    ``reason`` is a short fixed phrase for logs. The client-facing ``detail`` stays generic so
    that the API never tells a caller which check failed (an oracle for forgers) and never
    echoes any part of the token.
    """

    code = "invalid_token"
    title = "Invalid token"

    def __init__(self, reason: str) -> None:
        super().__init__("The token is not valid.")
        self.reason = reason

    def __str__(self) -> str:
        return f"invalid token: {self.reason}"
