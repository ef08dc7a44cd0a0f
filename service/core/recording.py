"""Aging an established lower edge backwards: was someone an adult when a recording was made?

A record's lower edge ``lo`` holds on the day it was assured. Intervals age: after ``t`` years the
lower edge grows by ``floor(t)``; going back ``t`` years it shrinks by ``ceil(t)``, so a moment
between two birthdays always counts as the younger age. A recording is dated by its month, and
the month's first day is the earliest it could have been made: the person's youngest moment.
"""

from __future__ import annotations

import re
from datetime import date

from service.core.dates import add_years

_MONTH_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> date:
    """``YYYY-MM`` → the first day of that month; ValueError for anything else."""
    m = _MONTH_RE.fullmatch(text)
    if m is None:
        raise ValueError("expected a month as YYYY-MM")
    return date(int(m.group(1)), int(m.group(2)), 1)


def lower_edge_at(lower_age: int, assured_at: date, at: date) -> int:
    """The lower edge (whole years) established on ``assured_at``, aged to ``at``."""
    if at >= assured_at:
        years = at.year - assured_at.year
        if add_years(assured_at, years) > at:
            years -= 1
        return lower_age + years  # floor(t)
    years = assured_at.year - at.year
    if add_years(at, years) < assured_at:
        years += 1
    return lower_age - years  # ceil(t)
