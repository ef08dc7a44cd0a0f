"""Verifying age-band tokens as the service does: size first, one spelling, a header of exactly
``alg``/``typ``/``kid`` with ``typ: ageband+jwt``, the algorithm pinned to the JWKS key, then
exactly the thirteen claims with their types, ``iss`` and ``aud`` equal to yours, and ``iat``/
``exp`` within a leeway."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
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
    return _verified(token, keys, issuer=issuer, audience=audience, now=now, leeway=leeway)[0]


def _verified(
    token: str, keys: KeySet, *, issuer: str, audience: str, now: float, leeway: int
) -> tuple[AgeToken, float]:
    """verify_token's claims, and the nbf it checked (not a claim of AgeToken; -inf if none)."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("token too large")
    try:
        payload = verified_payload(token, keys, TOKEN_TYPE)
    except JoseFailure as err:
        raise InvalidToken(err.reason, unknown_kid=err.unknown_kid) from None
    not_before = float("-inf")
    if "nbf" in payload:  # never issued, but a standard time claim is honoured, not ignored
        nbf = payload.pop("nbf")
        if type(nbf) is not int:
            raise InvalidToken("claim nbf must be an integer")
        if nbf > now + leeway:
            raise InvalidToken("not yet valid (nbf)")
        not_before = nbf
    claims = _claims(payload)
    if claims.iss != issuer:
        raise InvalidToken("wrong issuer")
    if claims.aud != audience:
        raise InvalidToken("wrong audience")
    if claims.exp <= now - leeway:
        raise InvalidToken("expired")
    if claims.iat > now + leeway:
        raise InvalidToken("issued in the future")
    return claims, not_before


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


DEFAULT_TOKEN_CACHE_SIZE = 10_000


class TokenCache:
    """Verified tokens, cached as the service caches them (and as the JavaScript SDK does): keyed
    by the token's SHA-256 (the token itself is not kept), held until the token's own ``exp`` and
    never past it, emptied by any change of the JWKS (a token of a removed key is refused), ``iss``
    and ``aud`` compared on every call. Only a successful verification is cached. At most
    ``max_entries`` (least recently used first out); 0 caches nothing."""

    def __init__(self, max_entries: int = DEFAULT_TOKEN_CACHE_SIZE) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be at least 0")
        self.max_entries = max_entries
        # token hash -> (claims, the later of iat and nbf); order = recency, oldest first
        self._entries: OrderedDict[bytes, tuple[AgeToken, float]] = OrderedDict()
        self._fingerprint: str | None = None
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def verify(
        self, token: str, keys: KeySet, *, issuer: str, audience: str, now: float, leeway: int = 30
    ) -> AgeToken:
        """verify_token's answer, from the cache when it may be."""
        if self.max_entries == 0 or len(token) > MAX_TOKEN_BYTES:
            self.misses += 1
            return verify_token(token, keys, issuer=issuer, audience=audience, now=now, leeway=leeway)
        if keys.fingerprint != self._fingerprint:  # other keys: nothing verified before stands
            self._entries.clear()
            self._fingerprint = keys.fingerprint
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        entry = self._entries.get(key)
        if entry is not None:
            claims, not_before = entry
            # Past exp (or before iat/nbf on a clock set back) it is verified afresh below, where
            # the leeway may still accept it, but it is not cached again.
            if claims.exp > now and not_before <= now + leeway:
                if claims.iss != issuer:
                    raise InvalidToken("wrong issuer")
                if claims.aud != audience:  # another app's token
                    raise InvalidToken("wrong audience")
                self._entries.move_to_end(key)
                self.hits += 1
                return claims
            del self._entries[key]
        self.misses += 1
        claims, nbf = _verified(token, keys, issuer=issuer, audience=audience, now=now, leeway=leeway)
        if claims.exp > now:
            if len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)
            self._entries[key] = (claims, max(float(claims.iat), nbf))
        return claims


class TokenVerifier:
    """Verifies tokens for one app (``audience``: its client id) against a JWKS it is given (assign
    a new KeySet to ``keys`` on rotation); the API client (``Ageband.verify_token``) keeps that
    JWKS fresh and refetches it on an unknown ``kid``. Verified tokens are cached (TokenCache,
    ``cache_size`` of them; 0 turns the cache off)."""

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str,
        audience: str,
        leeway: int = 30,
        clock: Callable[[], float] = time.time,
        cache_size: int = DEFAULT_TOKEN_CACHE_SIZE,
    ) -> None:
        self.keys = keys
        self._issuer, self._audience, self._leeway, self._clock = issuer, audience, leeway, clock
        self.cache = TokenCache(cache_size)

    def verify(self, token: str) -> AgeToken:
        return self.cache.verify(
            token, self.keys, issuer=self._issuer, audience=self._audience, now=self._clock(),
            leeway=self._leeway,
        )  # fmt: skip
