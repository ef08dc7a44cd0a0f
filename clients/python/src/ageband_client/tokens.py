"""Verifying age-band tokens as the service does: size first, one spelling, a header of exactly
``alg``/``typ``/``kid`` with ``typ: ageband+jwt``, the algorithm pinned to the JWKS key, then
exactly the thirteen claims with their types, ``iss`` and ``aud`` equal to yours, and ``iat``/
``exp`` within a leeway."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ageband_client._jose import JoseFailure, verified_payload
from ageband_client.keys import KeySet

TOKEN_TYPE = "ageband+jwt"  # noqa: S105 - a media type, not a credential
MAX_TOKEN_BYTES = 8192  # real tokens are well under 1 KiB
CLAIMS = (
    "iss", "aud", "sub", "iat", "exp", "jti", "age_band", "level", "upper_level", "method", "jur",
    "pol", "recheck_at",
)  # fmt: skip
_INTS = ("iat", "exp", "recheck_at")
_NULLABLE = ("upper_level",)

Party = tuple[str | None, str | None, str | None]  # (band, level, upper_level)


class InvalidToken(ValueError):
    """A token that does not verify; ``reason`` says why (never a claim's value)."""

    def __init__(self, reason: str, *, unknown_kid: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unknown_kid = unknown_kid


@dataclass(frozen=True, slots=True)
class AgeToken:
    iss: str
    aud: str
    sub: str  # the pairwise sid
    iat: int
    exp: int
    jti: str
    age_band: str
    level: str
    upper_level: str | None
    method: str
    jur: str
    pol: str
    recheck_at: int

    @property
    def party(self) -> Party:
        """The party a decision sees: (band, level, upper_level)."""
        return (self.age_band, self.level, self.upper_level)


def verify_token(
    token: str, keys: KeySet, *, issuer: str, audience: str, now: float, leeway: int = 30
) -> AgeToken:
    """The token's claims, or InvalidToken."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("token too large")
    try:
        payload = verified_payload(token, keys, TOKEN_TYPE)
    except JoseFailure as err:
        raise InvalidToken(err.reason, unknown_kid=err.unknown_kid) from None
    if "nbf" in payload:  # never issued, but a standard time claim is honoured, not ignored
        nbf = payload.pop("nbf")
        if type(nbf) is not int:
            raise InvalidToken("claim nbf must be an integer")
        if nbf > now + leeway:
            raise InvalidToken("not yet valid (nbf)")
    claims = _claims(payload)
    if claims.iss != issuer:
        raise InvalidToken("wrong issuer")
    if claims.aud != audience:
        raise InvalidToken("wrong audience")
    if claims.exp <= now - leeway:
        raise InvalidToken("expired")
    if claims.iat > now + leeway:
        raise InvalidToken("issued in the future")
    return claims


def _claims(payload: dict[str, object]) -> AgeToken:
    """Exactly the thirteen claims, each of its type (an int is not a bool, a str not empty)."""
    for name in CLAIMS:
        if name not in payload:
            raise InvalidToken(f"missing claim {name}")
    if len(payload) != len(CLAIMS):
        raise InvalidToken("unexpected claims")  # unknown names are not echoed
    for name in CLAIMS:
        value = payload[name]
        if name in _INTS:
            if type(value) is not int:
                raise InvalidToken(f"claim {name} must be an integer")
        elif name in _NULLABLE:
            if value is not None and (type(value) is not str or not value):
                raise InvalidToken(f"claim {name} must be null or a non-empty string")
        elif type(value) is not str or not value:
            raise InvalidToken(f"claim {name} must be a non-empty string")
    return AgeToken(**payload)  # type: ignore[arg-type]  # each type checked just above


class TokenVerifier:
    """Verifies tokens for one app (``audience``: its client id) against a JWKS it is given; the
    API client (``Ageband.verify_token``) keeps that JWKS fresh and refetches it on an unknown
    ``kid``."""

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str,
        audience: str,
        leeway: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self._issuer, self._audience, self._leeway, self._clock = issuer, audience, leeway, clock

    def verify(self, token: str) -> AgeToken:
        return verify_token(
            token, self.keys, issuer=self._issuer, audience=self._audience, now=self._clock(),
            leeway=self._leeway,
        )  # fmt: skip
