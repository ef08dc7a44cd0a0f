"""Age intervals: the one shape every provider's signal is normalised to.

An interval ``[lo, hi]`` holds whole ages in years, both ends inclusive; ``hi=None`` means
unbounded above. An interval with ``hi < lo`` is empty: two signals that contradict each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class AgeInterval:
    lo: int
    hi: int | None = None

    def __post_init__(self) -> None:
        if self.lo < 0:
            raise ValueError("lo must be >= 0")

    @property
    def is_empty(self) -> bool:
        return self.hi is not None and self.hi < self.lo

    @property
    def is_exact(self) -> bool:
        return self.hi == self.lo

    def contains(self, age: int) -> bool:
        return age >= self.lo and (self.hi is None or age <= self.hi)

    def within(self, other: AgeInterval) -> bool:
        """True when every age of self is in other (an empty interval is within anything)."""
        if self.is_empty:
            return True
        if self.lo < other.lo:
            return False
        if other.hi is None:
            return True
        return self.hi is not None and self.hi <= other.hi

    def intersect(self, other: AgeInterval) -> AgeInterval:
        lo = max(self.lo, other.lo)
        his = [h for h in (self.hi, other.hi) if h is not None]
        hi = min(his) if his else None
        if hi is not None and hi < lo:
            # Canonical empty form, so that intersection stays commutative.
            return EMPTY
        return AgeInterval(lo, hi)

    def aged(self, years: float) -> AgeInterval:
        """The interval ``years`` later: lo grows by floor(t), hi by ceil(t)."""
        if not math.isfinite(years) or years < 0:
            raise ValueError("intervals only age forward, by a finite number of years")
        if self.is_empty:
            return self
        hi = None if self.hi is None else self.hi + math.ceil(years)
        return AgeInterval(self.lo + math.floor(years), hi)

    def __str__(self) -> str:
        if self.is_empty:
            return "[]"
        return f"[{self.lo}, {'∞' if self.hi is None else self.hi}]"


EMPTY = AgeInterval(1, 0)


def from_estimate(age: float, sigma: float, *, buffer: float, k: float = 1.0) -> AgeInterval:
    """An estimate ``age ± b`` with ``b = max(buffer, k·sigma)`` becomes ``[⌊a−b⌋, ⌊a+b⌋]``."""
    if not all(math.isfinite(v) and v >= 0 for v in (age, sigma, buffer, k)):
        raise ValueError("estimate, sigma, buffer and k must be finite and non-negative")
    b = max(buffer, k * sigma)
    return AgeInterval(max(0, math.floor(age - b)), math.floor(age + b))


def from_over(n: int, value: bool) -> AgeInterval:
    """An ``age_over_N`` claim: true gives ``lo ≥ N``, false gives ``hi ≤ N−1``."""
    if n < 1:
        raise ValueError("age_over needs N >= 1")
    return AgeInterval(n) if value else AgeInterval(0, n - 1)


def from_range(lo: int, hi: int | None) -> AgeInterval:
    if lo < 0 or (hi is not None and hi < lo):
        raise ValueError("a range needs 0 <= lo <= hi")
    return AgeInterval(lo, hi)


def age_on(birth: date, on: date) -> int:
    """Completed years on a day; a 29 February birthday counts from 1 March in common years."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def from_birthdate(birth: date, on: date) -> AgeInterval:
    """The exact interval on a day. Call it only inside an adapter: the date never leaves it."""
    if birth > on:
        raise ValueError("birth date is in the future")
    age = age_on(birth, on)
    return AgeInterval(age, age)
