"""What the canonical base64url check costs on the token hot path, against a whole verification.

    .venv/bin/python -m bench.canonical

Issues one real token (EdDSA, the default) and times, in this process: the check alone
(``is_canonical_compact``), a full ``TokenVerifier.verify`` (which includes it) and a cached
decision's lookup (``TokenCache.verify`` hit). Prints microseconds per call and the check's share.
"""

from __future__ import annotations

import timeit
from datetime import UTC, datetime

from service.core.base64url import is_canonical_compact
from service.core.clock import FixedClock
from service.flows.token_cache import TokenCache
from service.tokens import KeyRing, TokenSigner, TokenVerifier


def _per_call(stmt: object, number: int) -> float:
    best = min(timeit.repeat(stmt, number=number, repeat=5))  # type: ignore[arg-type]
    return best / number * 1e6


def main() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    ring = KeyRing.development()
    token, _ = TokenSigner(ring, "urn:bench", clock=clock).issue(
        client_id="app", sid="sid_" + "A" * 43, band="18_plus", level="basic", method="self_declaration",
        jurisdiction="default", policy_version="p" * 16, recheck_at=1_800_000_000,
    )  # fmt: skip
    verifier = TokenVerifier(ring, "urn:bench", clock)
    cache = TokenCache()
    now = clock.now().timestamp()
    cache.verify(verifier, token, audience="app", now=now)
    check = _per_call(lambda: is_canonical_compact(token), 200_000)
    verify = _per_call(lambda: verifier.verify(token, audience="app"), 5_000)
    hit = _per_call(lambda: cache.verify(verifier, token, audience="app", now=now), 200_000)
    print(f"token length                 {len(token)} characters")
    print(f"canonical check              {check:.2f} us")
    print(f"full verification            {verify:.2f} us  (check is {check / verify:.1%} of it)")
    print(f"cached decision lookup (hit) {hit:.2f} us  (no check: only verified tokens are cached)")


if __name__ == "__main__":
    main()
