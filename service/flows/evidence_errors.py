"""A provider's ``InvalidEvidence``, rebuilt from its structure before it leaves the flow.

Providers may come from third parties, and careless code writes evidence into messages
(``f"bad birthdate {value}"``) or extras. So nothing a provider wrote as text goes on: the
flow keeps the error's code (when it is one of ours), and per error the field path (when every
segment is a plain name or an index) and the error type (from a fixed vocabulary). Every text
in the response is written here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from providers.errors import (
    ImageTooLarge,
    ImageTooManyPixels,
    ImageTooSmall,
    ImageUnreadable,
    UnsupportedImageType,
)
from service.audit.detectors import scan_text
from service.core.errors import InvalidEvidence

MAX_ERRORS = 20
EVIDENCE = "<evidence>"  # the evidence as a whole
HIDDEN = "<field>"  # a path segment that is not a plain name: it may be a value sent as a key

# The codes a provider may use, each with the detail the caller gets.
_KINDS: dict[str, tuple[type[InvalidEvidence], str]] = {
    cls.code: (cls, detail)
    for cls, detail in (
        (InvalidEvidence, "the evidence does not fit the method's schema"),
        (ImageTooLarge, "the image is larger than the method accepts"),
        (UnsupportedImageType, "the image is not of a type the method accepts"),
        (ImageUnreadable, "the image cannot be read"),
        (ImageTooManyPixels, "the image has more pixels than the method decodes"),
        (ImageTooSmall, "the image is smaller than the method needs"),
    )
}
# Every evidence error a submission can answer: the only classes ``rebuild`` gives.
KINDS: tuple[type[InvalidEvidence], ...] = tuple(cls for cls, _ in _KINDS.values())
# Extras that may pass, by code: integers from the provider's configuration.
_NUMERIC_EXTRAS = {ImageTooLarge.code: ("limit",)}

_MISSING = "Field required"
_EXTRA = "Extra inputs are not permitted"
_OBJECT = "Input should be an object"
_ONE_OF = "Input should be one of the values the method's schema allows"
_BELOW = "Input is below the minimum the method's schema allows"
_ABOVE = "Input is above the maximum the method's schema allows"
_INVALID = "Input is not valid"

# Error types (pydantic's names, which providers pass on) and the text each one gets.
PROBLEMS: dict[str, str] = {
    "missing": _MISSING,
    "extra_forbidden": _EXTRA,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "dict_type": _OBJECT,
    "int_type": "Input should be a valid integer",
    "int_parsing": "Input should be a valid integer",
    "int_from_float": "Input should be a valid integer",
    "float_type": "Input should be a valid number",
    "float_parsing": "Input should be a valid number",
    "finite_number": "Input should be a finite number",
    "string_type": "Input should be a valid string",
    "bool_type": "Input should be a valid boolean",
    "bool_parsing": "Input should be a valid boolean",
    "none_required": "Input should be null",
    "list_type": "Input should be a valid list",
    "tuple_type": "Input should be a valid list",
    "literal_error": _ONE_OF,
    "enum": _ONE_OF,
    "union_tag_invalid": _ONE_OF,
    "union_tag_not_found": "A field that selects the kind of evidence is required",
    "greater_than": _BELOW,
    "greater_than_equal": _BELOW,
    "less_than": _ABOVE,
    "less_than_equal": _ABOVE,
    "multiple_of": "Input is not a multiple the method's schema allows",
    "string_too_short": "Input is shorter than the method's schema allows",
    "string_too_long": "Input is longer than the method's schema allows",
    "string_pattern_mismatch": "Input does not match the pattern the method's schema requires",
    "value_error": _INVALID,
    "invalid": _INVALID,
}
# Providers that pass no type still get the two messages that are unmistakable.
_TYPE_OF_TEXT = {_MISSING: "missing", _EXTRA: "extra_forbidden"}

_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}|\d{1,6}")


def rebuild(exc: InvalidEvidence, *, attempts_left: int) -> InvalidEvidence:
    """A new error with the same meaning and none of the provider's texts or extras, telling
    the caller how many attempts the check has left (malformed evidence spends one)."""
    cls, detail = _KINDS.get(getattr(exc, "code", ""), _KINDS[InvalidEvidence.code])
    extra: dict[str, Any] = {"attempts_left": attempts_left}
    for name in _NUMERIC_EXTRAS.get(cls.code, ()):
        value = exc.extra.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            extra[name] = value
    errors = exc.extra.get("errors")
    if isinstance(errors, list | tuple):
        extra["errors"] = [_error(e) for e in errors[:MAX_ERRORS]]
    return cls(detail, **extra)


def _error(error: Any) -> dict[str, str]:
    item = error if isinstance(error, Mapping) else {}
    kind = item.get("type")
    if not isinstance(kind, str) or kind not in PROBLEMS:
        text = item.get("problem")
        kind = _TYPE_OF_TEXT.get(text, "invalid") if isinstance(text, str) else "invalid"
    return {"field": safe_path(item.get("field")), "type": kind, "problem": PROBLEMS[kind]}


def safe_path(field: Any) -> str:
    """The field path up to its first segment that is not a plain name or index, which is hidden
    with all that follows (a value sent as a key may itself hold dots, as e-mail addresses do)."""
    if not isinstance(field, str) or not field or field == EVIDENCE:
        return EVIDENCE
    shown: list[str] = []
    for segment in field.split(".")[:8]:
        if not _SEGMENT.fullmatch(segment) or scan_text(segment):
            shown.append(HIDDEN)
            break
        shown.append(segment)
    return ".".join(shown)
