"""From an age estimate and its uncertainty to an outcome, the same for every estimator.

The policy's method gives a buffer ``b``, a factor ``k`` and ``max_sigma``. An estimate
``a`` with standard deviation ``sigma`` becomes ``[⌊a − B⌋, ⌊a + B⌋]`` with
``B = max(b, k·sigma)`` (``service.core.intervals.from_estimate``); a ``sigma`` above
``max_sigma`` is refused as ``low_quality`` rather than widened, as vendors advise.

The buffered interval protects the lower edge (adult access: a minor estimated older must still
fall short). For the upper edge (entry to children's spaces) the signal also says the age is at
most ``⌊a + m⌋``, with the policy's ``upper_margin`` ``m``: an adult estimated young must still
be estimated at or below a minor band's top age to confirm it.
"""

from __future__ import annotations

import math
from typing import Final

from providers.base import Failure, Outcome, ProviderContext, Signal
from service.core.intervals import AgeInterval, from_estimate

METHOD_CLASS: Final = "facial_estimation"
MAX_AGE: Final = 150
ATTRIBUTES: Final = ("age_estimate", "age_uncertainty")


def estimate_outcome(age: float, sigma: float, ctx: ProviderContext, qualifier: str) -> Outcome:
    if not (math.isfinite(age) and math.isfinite(sigma)) or sigma < 0 or not 0 <= age <= MAX_AGE:
        return Failure("implausible_estimate")
    params = ctx.method
    if params.max_sigma is not None and sigma > params.max_sigma:
        return Failure("low_quality")
    interval = from_estimate(age, sigma, buffer=params.buffer, k=params.sigma_k)
    if interval.hi is not None and interval.hi > MAX_AGE:
        interval = AgeInterval(min(interval.lo, MAX_AGE), MAX_AGE)
    # For the upper edge: the point estimate plus the policy's margin, never above the interval.
    at_most = min(math.floor(age + params.upper_margin), MAX_AGE)
    if interval.hi is not None:
        at_most = min(at_most, interval.hi)
    return Signal(interval, METHOD_CLASS, qualifier, attributes=ATTRIBUTES, at_most=at_most)
