"""Stored forms: records as compact JSON, due-index members and due cursors.

Decoding is strict (unknown or missing fields and wrong types raise ValueError) so a
payload written by another version, or tampered with, is noticed instead of half-read. The one
exception is a field added by a later version, listed in ``ADDED_LATER``: a payload written
before it existed reads with the field's default (chosen to be the protective one), so an
upgrade needs no migration.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
import types
from collections.abc import Callable
from datetime import date, timedelta
from enum import Enum
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from service.store.errors import InvalidCursor
from service.store.records import AssuranceRecord, CheckState, Sanction, SignalNote
from service.store.reviews import Appeal, Connection, GuardianCode, RecheckRequest

T = TypeVar("T", CheckState, AssuranceRecord, Sanction, RecheckRequest, Appeal, GuardianCode, Connection)

# Fields a payload from an earlier version lacks, read as their default: an upper edge nothing
# established (the party counts as unconfirmed in children's spaces).
ADDED_LATER: dict[type, frozenset[str]] = {
    AssuranceRecord: frozenset({"upper_level"}),
    SignalNote: frozenset({"method_class", "upper_level", "at_most"}),
    CheckState: frozenset({"device", "appeal_floor"}),
}

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The member is always a sid: a truncated or altered one must not parse as a position.
_CURSOR_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\|(sid_[A-Za-z0-9_-]{43})$")
_EPOCH = date(1970, 1, 1)


def encode(
    obj: CheckState | AssuranceRecord | Sanction | RecheckRequest | Appeal | GuardianCode | Connection,
) -> str:
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
        raise ValueError(f"{cls.__name__}: not a JSON object")
    convert, names = _decoder(cls)
    if unknown := sorted(set(data) - names):
        raise ValueError(f"{cls.__name__}: unknown fields {unknown}")
    if len(data) != len(names) and (missing := sorted(names - set(data) - ADDED_LATER.get(cls, set()))):
        raise ValueError(f"{cls.__name__}: missing fields {missing}")
    return cls(**{name: c(data[name]) for name, c in convert.items() if name in data})


Convert = Callable[[Any], Any]
_DECODERS: dict[type, tuple[dict[str, Convert], frozenset[str]]] = {}


def _decoder(cls: type, where: str | None = None) -> tuple[dict[str, Convert], frozenset[str]]:
    """Per-field converters, built once per class: records are read on every hot-path request,
    and resolving type hints for each read would cost more than the read itself."""
    got = _DECODERS.get(cls)
    if got is None:
        hints = get_type_hints(cls)
        owner = where or cls.__name__
        convert = {f.name: _converter(f"{owner}.{f.name}", hints[f.name]) for f in dataclasses.fields(cls)}
        got = _DECODERS[cls] = (convert, frozenset(convert))
    return got


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


def _converter(where: str, tp: Any) -> Convert:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        (inner,) = [a for a in args if a is not type(None)]
        convert, nullable = _converter(where, inner), type(None) in args
        return lambda v: None if v is None and nullable else convert(v)
    if origin is list:
        (item,) = get_args(tp)
        each = _converter(where, item)

        def as_list(v: Any) -> list[Any]:
            if not isinstance(v, list):
                raise ValueError(f"{where}: expected a list")
            return [each(x) for x in v]

        return as_list
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        cls = tp
        fields, names = _decoder(cls, where)

        def as_object(v: Any) -> Any:
            if not isinstance(v, dict):
                raise ValueError(f"{where}: expected an object")
            if set(v) != names and not names - ADDED_LATER.get(cls, frozenset()) <= set(v) <= names:
                raise ValueError(f"{where}: fields must be exactly {sorted(names)}")
            return cls(**{n: c(v[n]) for n, c in fields.items() if n in v})

        return as_object
    if tp is date:

        def as_date(v: Any) -> date:
            # fromisoformat also takes week dates and basic forms; only YYYY-MM-DD is ours.
            if not isinstance(v, str) or not _DATE_RE.fullmatch(v):
                raise ValueError(f"{where}: expected an ISO date")
            return date.fromisoformat(v)  # still rejects impossible days

        return as_date
    if isinstance(tp, type) and issubclass(tp, Enum):
        enum: Convert = tp
        return enum  # raises ValueError for an unknown member
    if tp is int:

        def as_int(v: Any) -> int:
            # bool is an int subclass; a stored true/false in an int field is corruption.
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{where}: expected an integer")
            return v

        return as_int
    if tp is str:

        def as_str(v: Any) -> str:
            if not isinstance(v, str):
                raise ValueError(f"{where}: expected a string")
            return v

        return as_str
    return lambda v: v


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
