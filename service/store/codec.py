"""Stored forms: records as compact JSON, due-index members and due cursors.

Records are written and read by pydantic ``TypeAdapter``s, built once per class. Reading is
strict (unknown or missing fields and wrong types raise ValueError: an integer is never a
boolean or a string, a day only ``YYYY-MM-DD``), so a payload written by another version, or
tampered with, is noticed instead of half-read. The one exception is a field added by a later
version, listed in ``ADDED_LATER``: a payload written before it existed reads with the field's
default (chosen to be the protective one), so an upgrade needs no migration. Writing gives the
same text for equal records (the Redis store compares stored text to swap a record).
"""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from service.store.content import ContentItem
from service.store.cursors import cursor_pattern, decode_position, encode_position
from service.store.records import AssuranceRecord, CheckState, PageLink, PageSession, Sanction, SignalNote
from service.store.reviews import Appeal, Connection, GuardianCode, GuardianLink, RecheckRequest

T = TypeVar(
    "T", CheckState, AssuranceRecord, Sanction, ContentItem, PageLink, PageSession, RecheckRequest, Appeal,
    GuardianCode, GuardianLink, Connection,
)  # fmt: skip

# Fields a payload from an earlier version lacks, read as their default: an upper edge nothing
# established (the party counts as unconfirmed in children's spaces).
ADDED_LATER: dict[type, frozenset[str]] = {
    AssuranceRecord: frozenset({"upper_level", "lower_age"}),
    SignalNote: frozenset({"method_class", "upper_level", "at_most"}),
    CheckState: frozenset({"device", "appeal_floor", "band", "level", "upper_level", "token_taken"}),
}

# The member is always a sid: a truncated or altered one must not parse as a position.
DUE_CURSOR = cursor_pattern("sid")
_CURSOR_RE = re.compile(DUE_CURSOR)
_EPOCH = date(1970, 1, 1)
_STRICT = ConfigDict(strict=True, extra="forbid")


def encode(
    obj: CheckState
    | AssuranceRecord
    | Sanction
    | ContentItem
    | PageLink
    | PageSession
    | RecheckRequest
    | Appeal
    | GuardianCode
    | GuardianLink
    | Connection,
) -> str:
    """Compact JSON, fields in declaration order; dates as ISO days, enums as their values."""
    return _form(type(obj)).writer.dump_json(obj).decode()


def decode(cls: type[T], raw: str | bytes) -> T:
    form = _form(cls)
    try:
        data = form.reader.validate_json(raw)
    except ValidationError as exc:
        raise ValueError(_why(cls.__name__, exc)) from None
    return form.build(data)  # type: ignore[no-any-return]


Build = Callable[[Any], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class _Form:
    writer: TypeAdapter[Any]  # the dataclass itself
    reader: TypeAdapter[Any]  # a model of its stored form: every field required but ADDED_LATER's
    build: Build  # the validated model to the dataclass, nested ones too


_FORMS: dict[type, _Form] = {}


def _form(cls: type) -> _Form:
    got = _FORMS.get(cls)
    if got is None:
        stored, build = _stored_form(cls)
        got = _FORMS[cls] = _Form(TypeAdapter(cls), TypeAdapter(stored), build)
    return got


def _stored_form(cls: type) -> tuple[Any, Build]:
    """A strict model of ``cls``'s stored fields (nested dataclasses as their own), every field
    required but those of ``ADDED_LATER``, and how to turn what it validates into ``cls``."""
    hints = get_type_hints(cls)
    later = ADDED_LATER.get(cls, frozenset())
    fields: dict[str, Any] = {}
    nested: dict[str, Build] = {}
    for f in dataclasses.fields(cls):
        tp, inner = _stored_type(hints[f.name])
        if f.name not in later:
            fields[f.name] = (tp, ...)
        elif f.default_factory is not dataclasses.MISSING:
            fields[f.name] = (tp, Field(default_factory=f.default_factory))
        else:
            fields[f.name] = (tp, f.default)
        if inner is not None:
            nested[f.name] = inner
    stored = create_model(f"Stored{cls.__name__}", __config__=_STRICT, **fields)

    def build(model: BaseModel) -> Any:
        data = model.__dict__
        if nested:
            data = {**data, **{name: convert(data[name]) for name, convert in nested.items()}}
        return cls(**data)

    return stored, build


def _stored_type(tp: Any) -> tuple[Any, Build | None]:
    """The stored form of a field type, and how to build the field from it (None: as it is)."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        (inner,) = [a for a in args if a is not type(None)]
        stored, build = _stored_type(inner)
        if build is None:
            return tp, None
        return stored | None, lambda v: None if v is None else build(v)
    if origin is list:
        stored, build = _stored_type(get_args(tp)[0])
        if build is None:
            return tp, None
        each = build
        return list[stored], lambda v: [each(x) for x in v]  # type: ignore[valid-type]
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _stored_form(tp)
    return tp, None


_SAYS = {
    "int_type": "expected an integer",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "model_type": "expected an object",
    "date_type": "expected an ISO date",
    "date_parsing": "expected an ISO date",
}


def _why(name: str, exc: ValidationError) -> str:
    """The first thing wrong, named by field, without the stored value."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    if first["type"] == "json_invalid":
        return f"{name}: not JSON"
    if not first["loc"]:
        return f"{name}: not a JSON object"
    top = [e for e in errors if len(e["loc"]) == 1]
    if unknown := sorted(str(e["loc"][0]) for e in top if e["type"] == "extra_forbidden"):
        return f"{name}: unknown fields {unknown}"
    if missing := sorted(str(e["loc"][0]) for e in top if e["type"] == "missing"):
        return f"{name}: missing fields {missing}"
    where = ".".join([name, *(str(part) for part in first["loc"])])
    return f"{where}: {_SAYS.get(first['type'], first['msg'])}"


# Due index ---------------------------------------------------------------------
def day_score(day: date) -> int:
    """A due-index score: epoch seconds of the day's start in UTC (exact in a double)."""
    return (day - _EPOCH).days * 86400


def score_day(score: float) -> date:
    return _EPOCH + timedelta(days=int(score) // 86400)


def encode_cursor(recheck_at: date, sid: str) -> str:
    return encode_position(recheck_at, sid)


def decode_cursor(cursor: str) -> tuple[date, str]:
    """The (recheck_at, sid) a page continues after; InvalidCursor for anything else."""
    return decode_position(cursor, _CURSOR_RE, "the due cursor is not valid")
