"""Durations are ISO 8601 strings: a number whose unit would be a guess is refused with a hint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from service.core.durations import Duration, format_duration

DURATION: TypeAdapter[timedelta] = TypeAdapter(Duration)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P14D", timedelta(days=14)),
        ("P2W", timedelta(weeks=2)),
        ("PT15M", timedelta(minutes=15)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("-P1D", timedelta(days=-1)),
        ("P1Y", timedelta(days=365)),
    ],
)
def test_iso_8601_durations_are_read(text: str, expected: timedelta) -> None:
    assert DURATION.validate_python(text) == expected


@pytest.mark.parametrize("value", [14, 14.0, "14", " 14 "])
def test_a_bare_number_is_refused_with_the_iso_spelling_to_use(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        DURATION.validate_python(value)
    message = caught.value.errors()[0]["msg"]
    assert "a bare number is not a duration" in message
    assert "P14D (14 days)" in message
    assert "PT14S (14 seconds)" in message


@pytest.mark.parametrize("value", ["1 day", "10:00", "10:00:00", "P", "PT", "p14d", "14D"])
def test_other_spellings_pydantic_would_guess_at_are_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="is not an ISO 8601 duration"):
        DURATION.validate_python(value)


@pytest.mark.parametrize("value", [True, None, [1], {"days": 1}])
def test_values_of_other_types_are_refused(value: object) -> None:
    with pytest.raises(ValidationError, match="expected an ISO 8601 duration"):
        DURATION.validate_python(value)


def test_a_timedelta_made_in_code_passes_through() -> None:
    assert DURATION.validate_python(timedelta(minutes=5)) == timedelta(minutes=5)


def test_json_schema_says_string_of_format_duration_with_the_pattern() -> None:
    schema = DURATION.json_schema()
    assert schema["type"] == "string"
    assert schema["format"] == "duration"
    assert schema["pattern"].startswith("^-?P")


@given(st.timedeltas(min_value=timedelta(days=-3650), max_value=timedelta(days=3650)))
def test_format_duration_reads_back_as_the_same_duration(value: timedelta) -> None:
    text = format_duration(value)
    assert "Y" not in text and text.count("M") <= 1  # days and time only, never years or months
    assert DURATION.validate_python(text) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(days=365), "P365D"),
        (timedelta(hours=336), "P14D"),
        (timedelta(minutes=15), "PT15M"),
        (timedelta(days=1, hours=12), "P1DT12H"),
        (timedelta(seconds=61.5), "PT1M1.5S"),
        (timedelta(0), "PT0S"),
        (timedelta(days=-1), "-P1D"),
    ],
)
def test_format_duration_spells_durations_as_policies_do(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
