"""PII detectors: patterns of personal values that must never reach a log line or the store.

They find dates of birth, e-mail addresses, phone numbers, identity-document numbers,
base64 image headers and JWTs. A finding names the detector and where it was, never the
value: reports about leaks must not leak.

Dates are judged by where they are, not by how old they are: a birth date can be recent (a
child's) and an old-looking date can be ours (a record kept for years). So every date-like
value is a finding, except in a field the service itself fills with a date in its own format
(``own_dates``: the audit log's ``timestamp``, the inventory's day and timestamp fields).
Other patterns are tuned against what ageband writes: hex hashes, base64url ids and epoch
seconds pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_OLDEST_YEAR, _NEWEST_YEAR = 1900, 2199

# The formats the service writes its own dates in, by the type the inventory gives a field.
OWN_DATE_FORMATS: dict[str, re.Pattern[str]] = {
    "day": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "timestamp": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})"),
}

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


def _dates(text: str) -> bool:
    """Any plausible calendar date, however recent: where it may stand is the caller's call."""
    for pattern in _DATE_RES:
        for m in pattern.finditer(text):
            y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
            if mo > 12:  # month first, as in the US
                mo, d = d, mo
            if _OLDEST_YEAR <= y <= _NEWEST_YEAR and 1 <= mo <= 12 and 1 <= d <= 31:
                return True
    return False


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda text: pattern.search(text) is not None


DATE_OF_BIRTH = "date_of_birth"
DETECTORS: dict[str, Callable[[str], bool]] = {
    DATE_OF_BIRTH: _dates,
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


def scan_text(text: str, *, path: str = "", own_date: str | None = None) -> list[Finding]:
    """Findings in one string. ``own_date`` (``day`` or ``timestamp``): the string stands where
    the service writes a date of that kind, so a date in exactly that format is no finding."""
    fmt = OWN_DATE_FORMATS.get(own_date) if own_date else None
    ours = fmt is not None and fmt.fullmatch(text) is not None
    return [
        Finding(name, path)
        for name, found in DETECTORS.items()
        if not (ours and name == DATE_OF_BIRTH) and found(text)
    ]


def scan_value(
    value: Any, *, skip: frozenset[str] = frozenset(), own_dates: Mapping[str, str] | None = None
) -> list[Finding]:
    """Findings in every string (and map key) inside a JSON-like value. ``own_dates`` maps field
    paths (``[]`` for any list index, e.g. ``items[].day``) to the kind of date the service
    writes there; a date anywhere else is a finding."""
    dates = own_dates or {}
    return [
        f
        for path, text in _strings(value, "", skip)
        for f in scan_text(text, path=path, own_date=dates.get(field_of(path)))
    ]


def field_of(path: str) -> str:
    """A finding's path as a field name: list indexes as ``[]``."""
    return re.sub(r"\[\d+\]", "[]", path)


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
