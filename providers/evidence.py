"""Parse evidence into a provider's pydantic model, with errors that name fields, never values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from service.core.errors import InvalidEvidence

M = TypeVar("M", bound=BaseModel)

# Error types whose pydantic message is built from the schema alone (bounds, expected literals,
# type names) or written by the provider itself (value_error). Any other message may quote the
# input (e.g. union_tag_invalid names the submitted tag), so it is replaced by a generic one.
_SCHEMA_ONLY_MESSAGES = frozenset(
    {
        "missing",
        "extra_forbidden",
        "model_type",
        "model_attributes_type",
        "dict_type",
        "int_type",
        "int_parsing",
        "int_from_float",
        "float_type",
        "float_parsing",
        "finite_number",
        "string_type",
        "bool_type",
        "bool_parsing",
        "none_required",
        "list_type",
        "tuple_type",
        "literal_error",
        "enum",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "multiple_of",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "union_tag_not_found",
        "value_error",
    }
)


def parse_evidence(model: type[M], evidence: Mapping[str, Any]) -> M:
    """Validate ``evidence`` (any Mapping) against ``model``; raise ``InvalidEvidence`` naming fields.

    The ``InvalidEvidence`` carries no link to the pydantic error (whose ``input_value`` holds
    the submitted values) nor to the evidence itself.
    """
    if not isinstance(evidence, Mapping):
        raise InvalidEvidence(
            "the evidence does not fit the method's schema",
            errors=[{"field": "<evidence>", "problem": "Input should be an object"}],
        )
    try:
        # A plain dict copy: strict models accept only dicts, and evidence may be any Mapping.
        return model.model_validate(dict(evidence))
    except ValidationError as exc:
        problems = [_problem(e) for e in exc.errors(include_url=False, include_input=False)]
    # Raised outside the except block, so that the ValidationError is not kept as __context__.
    raise InvalidEvidence("the evidence does not fit the method's schema", errors=problems)


def _problem(e: ErrorDetails) -> dict[str, str]:
    # ``type`` lets the flow rebuild the error from structure alone (service/flows/evidence_errors.py).
    field = ".".join(str(p) for p in e["loc"]) or "<evidence>"
    if e["type"] in _SCHEMA_ONLY_MESSAGES:
        return {"field": field, "type": e["type"], "problem": e["msg"]}
    if e["type"] == "union_tag_invalid":
        expected = (e.get("ctx") or {}).get("expected_tags", "")
        return {"field": field, "type": e["type"], "problem": f"Input tag should be one of: {expected}"}
    return {"field": field, "type": e["type"], "problem": f"Input is not valid ({e['type']})"}
