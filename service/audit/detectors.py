"""PII detectors: patterns of personal values that must never reach a log line or the store.

They find dates of birth, e-mail addresses, phone numbers, identity-document numbers,
base64 image headers and JWTs. A finding names the detector and where it was, never the
value: reports about leaks must not leak.

Patterns are tuned against what ageband writes itself: hex hashes, base64url ids, ISO
timestamps of today, re-check days in the near future, and epoch seconds all pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# A birth date is at least this many years in the past; our own dates (timestamps, days of
# checks within the retention period, re-check days) are more recent.
MIN_AGE_YEARS = 2
_OLDEST_YEAR = 1900

_DATE_RES = (
    re.compile(r"(?<![\d-])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d:])"),
    re.compile(r"(?<![\d./])(?P<d>\d{1,2})[./](?P<m>\d{1,2})[./](?P<y>\d{4})(?![\d./])"),
    re.compile(r"(?<![\d/])(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})(?![\d/])"),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])(?!\d)"),
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# International form, or grouped national digits with separators: hashes and epoch seconds
# (unbroken digit runs) do not match.
_PHONE = re.compile(
    r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}(?!\w)"
    r"|(?<![\w(-])\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}(?![\w-])"
    r"|(?<![\w-])0\d{2,4}[\s/-]\d{3,4}[\s-]?\d{3,4}(?![\w-])"
)
_DOCUMENT = re.compile(
    r"(?<![A-Za-z0-9_-])[A-Z]{1,2}\d{6,9}(?![A-Za-z0-9_-])"  # passport-style numbers
    r"|(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"  # US SSN
    r"|[A-Z0-9<]{5,44}<<[A-Z0-9<]{2,44}"  # machine-readable zone of a passport or ID card
)
# Base64 of JPEG, PNG, GIF, WebP/RIFF and BMP headers, and data: URLs of images.
_IMAGE = re.compile(
    r"(?<![A-Za-z0-9+/])(?:/9j/[A-Za-z0-9+/]|iVBORw0KGgo|R0lGOD[lh]|UklGR|Qk[0-9A-Za-z]{2}AAAA)|data:image/"
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")


def _birth_dates(text: str, now: datetime) -> bool:
    latest = now.year - MIN_AGE_YEARS
    for pattern in _DATE_RES:
        for m in pattern.finditer(text):
            y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
            if mo > 12:  # month first, as in the US
                mo, d = d, mo
            if _OLDEST_YEAR <= y <= latest and 1 <= mo <= 12 and 1 <= d <= 31:
                return True
    return False


def _matches(pattern: re.Pattern[str]) -> Callable[[str, datetime], bool]:
    return lambda text, _now: pattern.search(text) is not None


DETECTORS: dict[str, Callable[[str, datetime], bool]] = {
    "date_of_birth": _birth_dates,
    "email": _matches(_EMAIL),
    "phone": _matches(_PHONE),
    "document_number": _matches(_DOCUMENT),
    "image_base64": _matches(_IMAGE),
    "jwt": _matches(_JWT),
}


@dataclass(frozen=True, slots=True)
class Finding:
    detector: str
    path: str  # where in the value, e.g. ``errors[0].msg``; never the value itself


def scan_text(text: str, *, now: datetime | None = None, path: str = "") -> list[Finding]:
    when = now or datetime.now(UTC)
    return [Finding(name, path) for name, found in DETECTORS.items() if found(text, when)]


def scan_value(
    value: Any, *, now: datetime | None = None, skip: frozenset[str] = frozenset()
) -> list[Finding]:
    """Findings in every string (and map key) inside a JSON-like value."""
    when = now or datetime.now(UTC)
    return [f for path, text in _strings(value, "", skip) for f in scan_text(text, now=when, path=path)]


def _strings(value: Any, path: str, skip: frozenset[str]) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in skip:
                continue
            sub = f"{path}.{k}" if path else str(k)
            yield sub + "<key>", str(k)
            yield from _strings(v, sub, skip)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]", skip)
