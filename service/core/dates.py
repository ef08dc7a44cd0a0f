"""Coarse dates: what a record may keep instead of a birthday or a timestamp."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def first_of_next_month(d: date) -> date:
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def round_up_to_month(d: date) -> date:
    """The first day of the *next* month, so the real day is never kept (and never later)."""
    return first_of_next_month(d)


def birthday_at(birth: date, age: int) -> date:
    """The day someone born on ``birth`` turns ``age`` (29 February → 1 March)."""
    year = birth.year + age
    try:
        return birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def age_up_at(birth: date, next_band_lo: int) -> date:
    """When a person moves into the band starting at ``next_band_lo``, rounded up coarsely."""
    return round_up_to_month(birthday_at(birth, next_band_lo))


def add_years(d: date, years: int) -> date:
    """The same day ``years`` later; 29 February moves to 1 March (never earlier)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return date(d.year + years, 3, 1)


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def start_of_day(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def recheck_date(assured: datetime, interval: timedelta) -> date:
    """The re-check day: truncated to the day, so it errs toward checking sooner."""
    return day_of(assured + interval)


_EPOCH_DAY = date(1970, 1, 1).toordinal()


def epoch(d: date) -> int:
    """Epoch seconds of the day's start (UTC): day arithmetic, as it runs for every token."""
    return (d.toordinal() - _EPOCH_DAY) * 86400
