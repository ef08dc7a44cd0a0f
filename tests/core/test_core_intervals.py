"""Age intervals: intersection, ageing and the provider signal shapes (DESIGN, "Age intervals")."""

from __future__ import annotations

import math
from datetime import date, timedelta
from fractions import Fraction

import pytest
from core_strategies import (
    MAX_AGE,
    ages,
    ages_in,
    any_birth,
    any_interval,
    core_profile,
    independent_age,
    intervals,
)
from hypothesis import given
from hypothesis import strategies as st

from service.core.intervals import (
    EMPTY,
    AgeInterval,
    age_on,
    from_birthdate,
    from_estimate,
    from_over,
    from_range,
)

# Multiples of 1/8 and 1/4: exact in binary floating point, so the float code and exact
# Fraction arithmetic must agree to the last digit.
eighths = st.integers(min_value=0, max_value=100 * 8).map(lambda n: Fraction(n, 8))
small_eighths = st.integers(min_value=0, max_value=10 * 8).map(lambda n: Fraction(n, 8))
quarter_ks = st.integers(min_value=0, max_value=4 * 4).map(lambda n: Fraction(n, 4))
finite = st.floats(min_value=0, max_value=150, allow_nan=False, allow_infinity=False)
years = st.integers(min_value=0, max_value=50 * 64).map(lambda n: Fraction(n, 64))


# -- intersection -------------------------------------------------------------------------


@core_profile
@given(any_interval, any_interval)
def test_intersection_is_commutative(a: AgeInterval, b: AgeInterval) -> None:
    assert a.intersect(b) == b.intersect(a)


@core_profile
@given(any_interval, any_interval)
def test_intersection_never_widens(a: AgeInterval, b: AgeInterval) -> None:
    both = a.intersect(b)
    assert both.within(a)
    assert both.within(b)


@core_profile
@given(any_interval, any_interval)
def test_intersection_holds_exactly_the_ages_of_both(a: AgeInterval, b: AgeInterval) -> None:
    both = a.intersect(b)
    for age in range(MAX_AGE + 20):
        assert both.contains(age) == (a.contains(age) and b.contains(age))


@core_profile
@given(any_interval, any_interval, any_interval)
def test_intersection_is_associative(a: AgeInterval, b: AgeInterval, c: AgeInterval) -> None:
    assert a.intersect(b).intersect(c) == a.intersect(b.intersect(c))


@core_profile
@given(intervals())
def test_intersection_with_itself_is_identity(a: AgeInterval) -> None:
    assert a.intersect(a) == a


@core_profile
@given(any_interval, any_interval)
def test_an_empty_intersection_is_the_canonical_empty(a: AgeInterval, b: AgeInterval) -> None:
    both = a.intersect(b)
    if both.is_empty:
        assert both == EMPTY
        assert str(both) == "[]"


def test_disjoint_intervals_intersect_to_empty() -> None:
    assert AgeInterval(0, 12).intersect(AgeInterval(13, 15)) == EMPTY
    assert AgeInterval(13, 15).intersect(AgeInterval(15)) == AgeInterval(15, 15)
    assert AgeInterval(0).intersect(AgeInterval(0)) == AgeInterval(0)


def test_within_treats_empty_as_within_anything_and_nothing_as_within_empty() -> None:
    assert EMPTY.within(AgeInterval(3, 3))
    assert not AgeInterval(0, 0).within(EMPTY)
    assert not AgeInterval(18).within(AgeInterval(0, 150))
    assert AgeInterval(18, 150).within(AgeInterval(18))


def test_negative_lo_is_rejected() -> None:
    with pytest.raises(ValueError, match="lo must be >= 0"):
        AgeInterval(-1, 3)


# -- ageing -------------------------------------------------------------------------------


@core_profile
@given(any_interval, years)
def test_ageing_never_lowers_lo(interval: AgeInterval, t: Fraction) -> None:
    assert interval.aged(float(t)).lo >= interval.lo


@core_profile
@given(intervals(), years)
def test_ageing_never_lowers_hi(interval: AgeInterval, t: Fraction) -> None:
    aged = interval.aged(float(t))
    if interval.hi is None:
        assert aged.hi is None
    else:
        assert aged.hi is not None
        assert aged.hi >= interval.hi


@core_profile
@given(any_interval)
def test_ageing_by_zero_is_identity(interval: AgeInterval) -> None:
    assert interval.aged(0) == interval
    assert interval.aged(0.0) == interval


@core_profile
@given(intervals(), years)
def test_ageing_moves_lo_by_floor_and_hi_by_ceil(interval: AgeInterval, t: Fraction) -> None:
    aged = interval.aged(float(t))
    assert aged.lo == interval.lo + math.floor(t)
    assert aged.hi == (None if interval.hi is None else interval.hi + math.ceil(t))


@core_profile
@given(intervals(), years, st.integers(min_value=0, max_value=63).map(lambda n: Fraction(n, 64)))
def test_ageing_keeps_every_real_age(interval: AgeInterval, t: Fraction, part: Fraction) -> None:
    """Someone aged ``x + part`` (0 ≤ part < 1) with ``x`` in the interval is still in it ``t`` later."""
    aged = interval.aged(float(t))
    for age in ages_in(interval):
        assert aged.contains(math.floor(age + part + t))


@core_profile
@given(any_interval, any_interval, years)
def test_ageing_and_intersection_keep_contradictions(a: AgeInterval, b: AgeInterval, t: Fraction) -> None:
    if a.intersect(b).is_empty:
        assert a.intersect(b).aged(float(t)).is_empty


@pytest.mark.parametrize("bad", [-1.0, -0.001, math.nan, math.inf])
def test_ageing_rejects_negative_or_non_finite_years(bad: float) -> None:
    with pytest.raises(ValueError, match="age forward"):
        AgeInterval(3, 5).aged(bad)


def test_ageing_examples() -> None:
    assert AgeInterval(13, 15).aged(0.5) == AgeInterval(13, 16)
    assert AgeInterval(13, 15).aged(1) == AgeInterval(14, 16)
    assert AgeInterval(18).aged(2.5) == AgeInterval(20)
    assert EMPTY.aged(3) == EMPTY


# -- estimates ----------------------------------------------------------------------------


@core_profile
@given(eighths, small_eighths, small_eighths, quarter_ks)
def test_from_estimate_is_the_floor_of_estimate_plus_minus_buffer(
    age: Fraction, sigma: Fraction, buffer: Fraction, k: Fraction
) -> None:
    """DESIGN: ``a ± b`` becomes ``[⌊a−b⌋, ⌊a+b⌋]`` with ``b = max(buffer, k·sigma)`` (lo at least 0)."""
    b = max(buffer, k * sigma)
    got = from_estimate(float(age), float(sigma), buffer=float(buffer), k=float(k))
    assert got == AgeInterval(max(0, math.floor(age - b)), math.floor(age + b))


@core_profile
@given(finite, finite, st.floats(min_value=0, max_value=20), st.floats(min_value=0, max_value=5))
def test_from_estimate_contains_the_estimate(age: float, sigma: float, buffer: float, k: float) -> None:
    got = from_estimate(age, sigma, buffer=buffer, k=k)
    assert not got.is_empty
    assert got.contains(math.floor(age))
    assert got.hi is not None


@core_profile
@given(eighths, small_eighths, small_eighths, small_eighths, quarter_ks)
def test_from_estimate_never_narrows_as_sigma_or_buffer_grows(
    age: Fraction, sigma: Fraction, more: Fraction, buffer: Fraction, k: Fraction
) -> None:
    narrow = from_estimate(float(age), float(sigma), buffer=float(buffer), k=float(k))
    by_sigma = from_estimate(float(age), float(sigma + more), buffer=float(buffer), k=float(k))
    by_buffer = from_estimate(float(age), float(sigma), buffer=float(buffer + more), k=float(k))
    assert narrow.within(by_sigma)
    assert narrow.within(by_buffer)


def test_from_estimate_examples() -> None:
    assert from_estimate(17.5, 0.0, buffer=1.0) == AgeInterval(16, 18)
    assert from_estimate(17.5, 2.0, buffer=1.0, k=1.0) == AgeInterval(15, 19)  # k·sigma wins
    assert from_estimate(17.5, 0.5, buffer=1.0, k=1.0) == AgeInterval(16, 18)  # buffer wins
    assert from_estimate(25.0, 0.0, buffer=0.0) == AgeInterval(25, 25)
    assert from_estimate(1.0, 3.0, buffer=0.0) == AgeInterval(0, 4)  # clamped at 0


@pytest.mark.parametrize(
    ("age", "sigma", "buffer", "k"),
    [
        (-1.0, 1.0, 1.0, 1.0),
        (20.0, -1.0, 1.0, 1.0),
        (20.0, 1.0, -1.0, 1.0),
        (20.0, 1.0, 1.0, -1.0),
        (math.nan, 1.0, 1.0, 1.0),
        (20.0, math.inf, 1.0, 1.0),
        (20.0, 1.0, math.inf, 1.0),
        (20.0, 1.0, math.nan, 1.0),
        (20.0, 1.0, 1.0, math.nan),
    ],
)
def test_from_estimate_rejects_negative_or_non_finite_inputs(
    age: float, sigma: float, buffer: float, k: float
) -> None:
    with pytest.raises(ValueError, match="finite and non-negative"):
        from_estimate(age, sigma, buffer=buffer, k=k)


# -- over-N claims and ranges ---------------------------------------------------------------


@core_profile
@given(st.integers(min_value=1, max_value=MAX_AGE), st.integers(min_value=1, max_value=MAX_AGE))
def test_over_n_claims_intersect_so_the_higher_true_claim_implies_the_lower(n: int, m: int) -> None:
    low, high = sorted((n, m))
    both = from_over(high, True).intersect(from_over(low, True))
    assert both == from_over(high, True)
    assert both.within(from_over(low, True))


@core_profile
@given(st.integers(min_value=1, max_value=MAX_AGE), st.integers(min_value=1, max_value=MAX_AGE))
def test_over_n_claims_contradict_when_true_is_above_false(n: int, m: int) -> None:
    """``age_over_m`` true and ``age_over_n`` false share an age only when m < n."""
    both = from_over(m, True).intersect(from_over(n, False))
    assert both.is_empty == (m >= n)


@core_profile
@given(st.integers(min_value=1, max_value=MAX_AGE), ages)
def test_over_n_true_and_false_split_every_age(n: int, age: int) -> None:
    assert from_over(n, True).contains(age) != from_over(n, False).contains(age)
    assert from_over(n, True).contains(age) == (age >= n)


def test_over_21_implies_over_18() -> None:
    over_21 = from_over(21, True)
    assert over_21.intersect(from_over(18, True)) == over_21 == AgeInterval(21)
    assert over_21.intersect(from_over(18, False)).is_empty
    assert from_over(18, False) == AgeInterval(0, 17)
    assert from_over(18, True).intersect(from_over(21, False)) == AgeInterval(18, 20)


def test_over_zero_is_rejected() -> None:
    with pytest.raises(ValueError, match="N >= 1"):
        from_over(0, True)


@core_profile
@given(intervals())
def test_from_range_is_the_range_as_given(interval: AgeInterval) -> None:
    assert from_range(interval.lo, interval.hi) == interval


@pytest.mark.parametrize(("lo", "hi"), [(-1, 3), (5, 4)])
def test_from_range_rejects_reversed_or_negative_ranges(lo: int, hi: int) -> None:
    with pytest.raises(ValueError, match="0 <= lo <= hi"):
        from_range(lo, hi)


# -- birth dates --------------------------------------------------------------------------


@core_profile
@given(any_birth, st.integers(min_value=0, max_value=120 * 366))
def test_from_birthdate_gives_the_exact_age(birth: date, days: int) -> None:
    on = birth + timedelta(days=days)
    assert from_birthdate(birth, on) == AgeInterval(independent_age(birth, on), independent_age(birth, on))
    assert age_on(birth, on) == independent_age(birth, on)


@core_profile
@given(any_birth, st.integers(min_value=1, max_value=120))
def test_age_changes_on_the_birthday_and_not_the_day_before(birth: date, n: int) -> None:
    year = birth.year + n
    day = birth.replace(year=year) if (birth.month, birth.day) != (2, 29) or _leap(year) else date(year, 3, 1)
    assert age_on(birth, day) == n
    assert age_on(birth, day - timedelta(days=1)) == n - 1


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def test_leap_day_birth_counts_from_first_of_march_in_common_years() -> None:
    birth = date(2008, 2, 29)
    assert from_birthdate(birth, date(2026, 2, 28)) == AgeInterval(17, 17)
    assert from_birthdate(birth, date(2026, 3, 1)) == AgeInterval(18, 18)
    assert from_birthdate(birth, date(2028, 2, 29)) == AgeInterval(20, 20)
    assert from_birthdate(birth, birth) == AgeInterval(0, 0)


def test_from_birthdate_rejects_a_future_birth() -> None:
    with pytest.raises(ValueError, match="future"):
        from_birthdate(date(2030, 1, 2), date(2030, 1, 1))
