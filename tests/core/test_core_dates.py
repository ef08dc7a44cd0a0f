"""Coarse dates: age_up_at rounds a band change up to a month, re-checks round toward sooner."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from core_strategies import any_birth, core_profile, independent_age
from hypothesis import given
from hypothesis import strategies as st

from service.core.dates import (
    add_years,
    age_up_at,
    birthday_at,
    day_of,
    epoch,
    first_of_next_month,
    recheck_date,
    round_up_to_month,
    start_of_day,
)

band_starts = st.integers(min_value=1, max_value=100)
moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
intervals = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3 * 366))


def _last_day_before(d: date) -> date:
    return d - timedelta(days=1)


@core_profile
@given(any_birth, band_starts)
def test_age_up_at_is_never_before_the_real_birthday(birth: date, n: int) -> None:
    """On age_up_at the person has completed ``n`` years, counted independently."""
    assert independent_age(birth, age_up_at(birth, n)) >= n


@core_profile
@given(any_birth, band_starts)
def test_age_up_at_is_always_the_first_of_a_month(birth: date, n: int) -> None:
    assert age_up_at(birth, n).day == 1


@core_profile
@given(any_birth, band_starts)
def test_age_up_at_is_the_first_of_the_month_after_the_birthday(birth: date, n: int) -> None:
    """Coarse but tight: the birthday falls in the calendar month before age_up_at."""
    up = age_up_at(birth, n)
    end_of_birthday_month = _last_day_before(up)
    end_of_month_before = _last_day_before(end_of_birthday_month.replace(day=1))
    assert independent_age(birth, end_of_birthday_month) >= n
    assert independent_age(birth, end_of_month_before) < n


@core_profile
@given(any_birth, band_starts)
def test_age_up_at_never_keeps_the_birthday_itself(birth: date, n: int) -> None:
    assert age_up_at(birth, n) > birthday_at(birth, n)


@core_profile
@given(any_birth, st.integers(min_value=0, max_value=120))
def test_birthday_at_is_the_first_day_of_the_new_age(birth: date, n: int) -> None:
    day = birthday_at(birth, n)
    assert independent_age(birth, day) == n
    if n > 0:
        assert independent_age(birth, day - timedelta(days=1)) == n - 1


@core_profile
@given(st.dates(max_value=date(9000, 1, 1)), st.integers(min_value=0, max_value=500))
def test_add_years_is_never_earlier_than_the_same_day(d: date, years: int) -> None:
    later = add_years(d, years)
    assert later.year == d.year + years
    assert (later.month, later.day) >= (d.month, d.day)  # 29 February → 1 March, never 28th
    assert (later.month, later.day) in {(d.month, d.day), (3, 1)}


@core_profile
@given(st.dates(max_value=date(9998, 12, 31)))
def test_round_up_to_month_is_after_the_day_and_within_a_month(d: date) -> None:
    up = round_up_to_month(d)
    assert up.day == 1
    assert d < up <= d + timedelta(days=31)
    assert up == first_of_next_month(d)


@core_profile
@given(moments, intervals)
def test_recheck_date_errs_toward_checking_sooner(assured: datetime, interval: timedelta) -> None:
    due = start_of_day(recheck_date(assured, interval))
    assert due <= assured + interval < due + timedelta(days=1)


@core_profile
@given(st.dates(min_value=date(1970, 1, 1), max_value=date(9998, 12, 31)))
def test_start_of_day_round_trips_through_day_of_and_epoch(d: date) -> None:
    assert day_of(start_of_day(d)) == d
    assert epoch(d) == int((start_of_day(d) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
    assert epoch(d) % 86_400 == 0


def test_leap_day_birth_moves_up_after_the_first_of_march() -> None:
    born = date(2012, 2, 29)
    assert birthday_at(born, 13) == date(2025, 3, 1)
    assert age_up_at(born, 13) == date(2025, 4, 1)
    assert birthday_at(born, 16) == date(2028, 2, 29)  # a leap year: the real day
    assert age_up_at(born, 16) == date(2028, 3, 1)


def test_age_up_at_examples() -> None:
    assert age_up_at(date(2012, 12, 15), 13) == date(2026, 1, 1)  # across a year end
    assert age_up_at(date(2012, 3, 1), 13) == date(2025, 4, 1)  # born on a 1st: the next 1st
    assert age_up_at(date(2012, 1, 31), 18) == date(2030, 2, 1)


def test_day_of_uses_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert day_of(datetime(2026, 3, 11, 7, 0, tzinfo=tokyo)) == date(2026, 3, 10)
    assert day_of(datetime(2026, 3, 10, 23, 59, tzinfo=UTC)) == date(2026, 3, 10)
