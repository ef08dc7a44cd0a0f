"""Hypothesis strategies for the pure domain: intervals, band sets, birth dates.

Also an independent age computation (the yyyymmdd subtraction), so that tests of the date
rules never check the core against itself.
"""

from __future__ import annotations

from datetime import date

from hypothesis import settings
from hypothesis import strategies as st

from service.core.bands import Band, BandSet
from service.core.intervals import AgeInterval

# Every property test in tests/core runs under this profile: 50 examples each keeps the whole
# core run near 5 s on a busy 2-CPU machine, and no deadline, so a slow CI runner is no failure.
settings.register_profile("ageband-core", max_examples=50, deadline=None)
core_profile = settings.get_profile("ageband-core")

MAX_AGE = 130  # ages the tests enumerate; bands and intervals stay below it

ages = st.integers(min_value=0, max_value=MAX_AGE)

# Years the date rules must cope with: leap centuries (2000) and common ones (1900, 2100).
birth_dates = st.dates(min_value=date(1890, 1, 1), max_value=date(2110, 12, 31))
leap_day_births = st.sampled_from([y for y in range(1892, 2110, 4) if y % 100 or y % 400 == 0]).map(
    lambda y: date(y, 2, 29)
)
any_birth = birth_dates | leap_day_births


@st.composite
def intervals(draw: st.DrawFn) -> AgeInterval:
    """A non-empty interval, bounded or not."""
    lo = draw(ages)
    hi = draw(st.none() | st.integers(min_value=lo, max_value=MAX_AGE))
    return AgeInterval(lo, hi)


@st.composite
def empty_intervals(draw: st.DrawFn) -> AgeInterval:
    lo = draw(st.integers(min_value=1, max_value=MAX_AGE))
    return AgeInterval(lo, draw(st.integers(min_value=0, max_value=lo - 1)))


any_interval = intervals() | empty_intervals()


@st.composite
def band_bounds(draw: st.DrawFn) -> list[int]:
    """The first age of every band after the youngest: sorted, distinct, all above 0."""
    return sorted(draw(st.sets(st.integers(min_value=1, max_value=MAX_AGE - 10), max_size=6)))


def bands_from_bounds(bounds: list[int]) -> list[Band]:
    starts = [0, *bounds]
    ends: list[int | None] = [s - 1 for s in bounds] + [None]
    return [Band(f"band_{i}", lo, hi) for i, (lo, hi) in enumerate(zip(starts, ends, strict=True))]


band_sets = band_bounds().map(lambda b: BandSet(bands_from_bounds(b)))


def yyyymmdd(d: date) -> int:
    return d.year * 10_000 + d.month * 100 + d.day


def independent_age(birth: date, on: date) -> int:
    """Completed years by digit arithmetic (29 February counts from 1 March in common years)."""
    return (yyyymmdd(on) - yyyymmdd(birth)) // 10_000


def ages_in(interval: AgeInterval) -> range:
    """Every age of an interval, unbounded ones cut at MAX_AGE + 20."""
    top = MAX_AGE + 20 if interval.hi is None else interval.hi
    return range(interval.lo, top + 1)
