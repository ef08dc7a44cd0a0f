"""Verified age-band tokens, cached for decisions on hot paths.

Keyed by the SHA-256 of the token (the token itself is never kept), an entry holds only what a
decision needs (band, both edges' levels, audience, and the sid and iat its revocation is checked
by) and lives
until the token's own ``exp``. The size is bounded: when full, expired entries go first, then the
oldest. The cache proves only the signature and claims: whether the subject was revoked since is
asked of the store on every decision (service.flows.decision_tokens), so no entry outlives a revocation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from service.tokens.errors import InvalidToken
from service.tokens.verifier import TokenVerifier

DEFAULT_MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class VerifiedParty:
    band: str
    level: str
    aud: str
    exp: int
    sub: str  # the pairwise sid
    iat: int
    upper_level: str | None = None

    @property
    def key(self) -> tuple[str, str, str | None]:
        """The party as the decision tables know it: band and both edges' levels."""
        return (self.band, self.level, self.upper_level)


class TokenCache:
    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._entries: dict[bytes, VerifiedParty] = {}  # insertion order = age
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def verify(self, verifier: TokenVerifier, token: str, *, audience: str, now: float) -> VerifiedParty:
        """The token's band and level; InvalidToken when it does not verify for ``audience``."""
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        entry = self._entries.get(key)
        if entry is not None:
            if entry.exp > now:
                if entry.aud != audience:  # the same token, presented by another client
                    raise InvalidToken("wrong audience")
                self.hits += 1
                return entry
            del self._entries[key]
        self.misses += 1
        claims = verifier.verify(token, audience=audience)
        entry = VerifiedParty(
            claims.age_band, claims.level, claims.aud, claims.exp, claims.sub, claims.iat, claims.upper_level
        )
        if entry.exp > now:  # a token inside the verifier's leeway is used, not cached
            self._put(key, entry, now)
        return entry

    def _put(self, key: bytes, entry: VerifiedParty, now: float) -> None:
        if len(self._entries) >= self._max:
            for old in [k for k, e in self._entries.items() if e.exp <= now]:
                del self._entries[old]
            # Evict a tenth at once, so a full cache of live tokens is not rescanned on every put.
            while len(self._entries) > self._max * 9 // 10:
                del self._entries[next(iter(self._entries))]
        self._entries[key] = entry
