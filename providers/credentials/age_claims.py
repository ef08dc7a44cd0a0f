"""``age_over_NN`` claims to an age interval.

True gives ``lo ≥ NN`` and false gives ``hi ≤ NN−1``; the claims intersect, so ``age_over_21:
true`` alone proves 18+ and ``age_over_16: false`` bounds the age above. Claims that contradict
each other are a forgery or a broken issuer: rejected, never averaged.

The EU PID SD-JWT VC profile nests them: ``"age_equal_or_over": {"18": true, "21": false}``;
those count as ``age_over_18`` and ``age_over_21``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from providers.credentials.errors import CLAIM_MISSING, CLAIMS_INCONSISTENT, MALFORMED, Rejected
from service.core.intervals import AgeInterval, from_over

_AGE_OVER = re.compile(r"^age_over_([1-9][0-9]?)$")
_AGE = re.compile(r"^[1-9][0-9]?$")
NESTED = "age_equal_or_over"


def age_over_claims(claims: Mapping[str, object]) -> dict[int, bool]:
    """The ``age_over_NN`` claims among ``claims`` (others are ignored: they are not asked for)."""
    out: dict[int, bool] = {}
    for name, value in claims.items():
        m = _AGE_OVER.fullmatch(name)
        if m is None:
            continue
        if not isinstance(value, bool):
            raise Rejected(MALFORMED)
        out[int(m.group(1))] = value
    nested = claims.get(NESTED)
    if nested is None:
        return out
    if not isinstance(nested, Mapping):
        raise Rejected(MALFORMED)
    for name, value in nested.items():
        if not isinstance(name, str) or _AGE.fullmatch(name) is None or not isinstance(value, bool):
            raise Rejected(MALFORMED)
        n = int(name)
        if out.get(n, value) != value:
            raise Rejected(CLAIMS_INCONSISTENT)
        out[n] = value
    return out


def interval_of(over: Mapping[int, bool], *, required: int | None = None) -> AgeInterval:
    if not over or (required is not None and required not in over):
        raise Rejected(CLAIM_MISSING)
    interval = AgeInterval(0, None)
    for n, value in over.items():
        interval = interval.intersect(from_over(n, value))
    if interval.is_empty:
        raise Rejected(CLAIMS_INCONSISTENT)
    return interval
