"""Durations as people write them in policy files and settings: ISO 8601 strings only.

pydantic alone reads a bare number as seconds (``grace: 14`` would be 14 seconds, and YAML
reads ``10:00`` as the number 600), and also accepts ``"1 day"`` or ``"10:00:00"``. A
duration whose unit is a guess is refused, with the ISO 8601 spelling to use instead.
``P1Y`` counts as 365 days and ``P1M`` as 30 days.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

# ISO 8601 durations as policies write them (P400D, PT15M, P2W, P1DT12H, PT0.5S, -P1D).
ISO_DURATION = r"^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
_ISO = re.compile(ISO_DURATION)
_NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")
_EXAMPLE = "P14D (14 days), PT12H (12 hours) or PT15M (15 minutes)"


def _iso_only(value: object) -> object:
    if isinstance(value, timedelta):  # built in code, not read from text
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PydanticCustomError(
            "duration_type", "expected an ISO 8601 duration such as {example}", {"example": _EXAMPLE}
        )
    text = str(value)
    if _NUMBER.match(text):
        n = text.strip().lstrip("-").split(".")[0]
        raise PydanticCustomError(
            "duration_unit_missing",
            "a bare number is not a duration (its unit would be a guess): use an ISO 8601 duration "
            "such as P{n}D ({n} days), PT{n}M ({n} minutes) or PT{n}S ({n} seconds)",
            {"n": n},
        )
    if not _ISO.match(text):
        raise PydanticCustomError(
            "duration_not_iso8601",
            "'{value}' is not an ISO 8601 duration: use one such as {example}",
            {"value": text, "example": _EXAMPLE},
        )
    return text


Duration = Annotated[
    timedelta,
    BeforeValidator(_iso_only),
    WithJsonSchema({"type": "string", "format": "duration", "pattern": ISO_DURATION}),
]


def format_duration(value: timedelta) -> str:
    """The ISO 8601 spelling in days and time (``P365D``, ``PT15M``, ``P1DT12H``), as policy
    files write it; never years or months, whose length would be a convention."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    second = f"{seconds + value.microseconds / 1e6:.6f}".rstrip("0").rstrip(".")
    time = f"{hours}H" if hours else ""
    time += f"{minutes}M" if minutes else ""
    time += f"{second}S" if second != "0" else ""
    text = (f"{value.days}D" if value.days else "") + (f"T{time}" if time else "")
    return f"{sign}P{text}" if text else "PT0S"
