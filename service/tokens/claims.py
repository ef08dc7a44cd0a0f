"""The age-band token's claims: exactly these thirteen, nothing else (data minimisation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

__all__ = [
    "CLAIM_NAMES",
    "MAX_TOKEN_BYTES",
    "TOKEN_TYPE",
    "ClaimsError",
    "TokenClaims",
]

TOKEN_TYPE = "ageband+jwt"  # noqa: S105 - a media type, not a credential
# Real tokens are well under 1 KiB; the cap bounds the work a hostile token can cause.
MAX_TOKEN_BYTES = 8192


class ClaimsError(ValueError):
    """A claim set that is not exactly ours. The message names claims, never values."""


class TokenClaims(NamedTuple):
    """Immutable; a named tuple because one is built for every token issued, at a fraction of
    a frozen dataclass's cost."""

    iss: str
    aud: str  # the client id
    sub: str  # the pairwise sid
    iat: int
    exp: int
    jti: str
    age_band: str
    level: str  # how well the band's lower edge ("at least 13") is established
    upper_level: str | None  # how well its upper edge ("at most 15") is; None: not established
    method: str  # the method class only
    jur: str
    pol: str  # policy version
    recheck_at: int  # epoch seconds, coarse

    def to_payload(self) -> dict[str, str | int | None]:
        # Written out rather than dataclasses.asdict (which deep-copies): this is the hot path.
        return {
            "iss": self.iss,
            "aud": self.aud,
            "sub": self.sub,
            "iat": self.iat,
            "exp": self.exp,
            "jti": self.jti,
            "age_band": self.age_band,
            "level": self.level,
            "upper_level": self.upper_level,
            "method": self.method,
            "jur": self.jur,
            "pol": self.pol,
            "recheck_at": self.recheck_at,
        }

    def check(self) -> None:
        """Raise ClaimsError unless every claim has its type (ints are not bools, str not empty)."""
        for name in _INT_CLAIMS:
            value = getattr(self, name)
            if type(value) is not int:  # bool is an int subclass; a JSON true is not a time
                raise ClaimsError(f"claim {name} must be an integer")
        for name in _STR_CLAIMS:
            value = getattr(self, name)
            if type(value) is not str or not value:
                raise ClaimsError(f"claim {name} must be a non-empty string")
        for name in _NULLABLE_STR_CLAIMS:
            value = getattr(self, name)
            if value is not None and (type(value) is not str or not value):
                raise ClaimsError(f"claim {name} must be null or a non-empty string")

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> TokenClaims:
        """Exactly the thirteen claims with their types, or ClaimsError."""
        for name in CLAIM_NAMES:
            if name not in payload:
                raise ClaimsError(f"missing claim {name}")
        if len(payload) != len(CLAIM_NAMES):
            raise ClaimsError("unexpected claims")  # unknown names are not echoed
        claims = cls(**payload)  # type: ignore[arg-type]  # types are checked just below
        claims.check()
        return claims


CLAIM_NAMES: tuple[str, ...] = TokenClaims._fields
_INT_CLAIMS = ("iat", "exp", "recheck_at")
_NULLABLE_STR_CLAIMS = ("upper_level",)  # always present; null when the edge is not established
_STR_CLAIMS = tuple(name for name in CLAIM_NAMES if name not in (*_INT_CLAIMS, *_NULLABLE_STR_CLAIMS))
