"""Stored forms: records as compact JSON, due-index members and due cursors.

Decoding is strict (unknown or missing fields and wrong types raise ValueError) so a
payload written by another version, or tampered with, is noticed instead of half-read.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
import types
from datetime import date, timedelta
from enum import Enum
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from service.store.errors import InvalidCursor
from service.store.records import AssuranceRecord, CheckState

T = TypeVar("T", CheckState, AssuranceRecord)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURSOR_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\|([^{}\s]+)$")
_EPOCH = date(1970, 1, 1)


def encode(obj: CheckState | AssuranceRecord) -> str:
    """Compact JSON; dates as ISO days, enums as their values."""
    data = {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def decode(cls: type[T], raw: str | bytes) -> T:
    try:
        data = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"{cls.__name__}: not JSON") from exc
    if not isinstance(data, dict):
        # A stored payload of the wrong shape is bad data, like every other decode failure.
        raise ValueError(f"{cls.__name__}: not a JSON object")  # noqa: TRY004
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    if unknown := sorted(set(data) - names):
        raise ValueError(f"{cls.__name__}: unknown fields {unknown}")
    if missing := sorted(names - set(data)):
        raise ValueError(f"{cls.__name__}: missing fields {missing}")
    return cls(**{name: _typed(cls.__name__, name, hints[name], data[name]) for name in names})


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _typed(owner: str, name: str, tp: Any, value: Any) -> Any:
    where = f"{owner}.{name}"
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _typed(owner, name, inner, value)
    if origin is list:
        (item,) = get_args(tp)
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list")
        return [_typed(owner, name, item, v) for v in value]
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object")
        hints = get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        if set(value) != names:
            raise ValueError(f"{where}: fields must be exactly {sorted(names)}")
        return tp(**{n: _typed(owner, f"{name}.{n}", hints[n], value[n]) for n in names})
    if tp is date:
        # fromisoformat also takes week dates and basic forms; only YYYY-MM-DD is ours.
        if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
            raise ValueError(f"{where}: expected an ISO date")
        return date.fromisoformat(value)  # still rejects impossible days
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)  # raises ValueError for an unknown member
    # bool is an int subclass; a stored true/false in an int field is corruption.
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{where}: expected an integer")
    if tp is str and not isinstance(value, str):
        raise ValueError(f"{where}: expected a string")
    return value


# Due index ---------------------------------------------------------------------
def day_score(day: date) -> int:
    """A due-index score: epoch seconds of the day's start in UTC (exact in a double)."""
    return (day - _EPOCH).days * 86400


def score_day(score: float) -> date:
    return _EPOCH + timedelta(days=int(score) // 86400)


def encode_cursor(recheck_at: date, sid: str) -> str:
    """Opaque to callers; it names the last entry of a page, which the next one follows."""
    raw = f"{recheck_at.isoformat()}|{sid}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[date, str]:
    """The (recheck_at, sid) a page continues after; InvalidCursor for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        m = _CURSOR_RE.fullmatch(raw)
        position = (date.fromisoformat(m.group(1)), m.group(2)) if m else None
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        position = None
    # Re-encoding must give the same text: b64decode silently skips stray characters.
    if position is None or encode_cursor(*position) != cursor:
        raise InvalidCursor("the due cursor is not valid")
    return position
