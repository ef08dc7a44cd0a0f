"""Aging a lower edge backwards and forwards, against a year-by-year walk (the definition)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.core.dates import add_years
from service.core.recording import lower_edge_at, parse_month


def walked(lower_age: int, assured_at: date, at: date) -> int:
    years = 0
    if at >= assured_at:
        while add_years(assured_at, years + 1) <= at:
            years += 1
        return lower_age + years
    while add_years(at, years) < assured_at:
        years += 1
    return lower_age - years


@given(
    st.integers(18, 40),
    st.dates(date(2000, 1, 1), date(2040, 12, 31)),
    st.dates(date(1990, 1, 1), date(2040, 12, 31)),
)
def test_the_edge_ages_by_whole_years_the_younger_way(lower_age: int, assured_at: date, at: date) -> None:
    assert lower_edge_at(lower_age, assured_at, at) == walked(lower_age, assured_at, at)


def test_a_day_before_the_anniversary_counts_a_year_younger() -> None:
    assured = date(2026, 3, 10)
    assert lower_edge_at(20, assured, date(2024, 3, 10)) == 18
    assert lower_edge_at(20, assured, date(2024, 3, 9)) == 17
    assert lower_edge_at(18, assured, date(2026, 3, 1)) == 17  # earlier the same month
    assert lower_edge_at(18, assured, date(2027, 3, 9)) == 18
    assert lower_edge_at(18, assured, date(2027, 3, 10)) == 19
    assert lower_edge_at(18, date(2024, 2, 29), date(2023, 3, 1)) == 17  # leap day: never older


@pytest.mark.parametrize(
    "text", ["2025-00", "2025-13", "25-01", "2025-1", "2025-01-01", "", "२०२५-०१", "२०२५-01"]
)
def test_a_recording_month_is_yyyy_mm_only(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month(text)


def test_the_month_is_its_first_day() -> None:
    assert parse_month("2024-06") == date(2024, 6, 1)
