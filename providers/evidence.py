"""Parse evidence into a provider's pydantic model, with errors that name fields, never values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from service.core.errors import InvalidEvidence

M = TypeVar("M", bound=BaseModel)


def parse_evidence(model: type[M], evidence: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(evidence)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "<evidence>", "problem": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise InvalidEvidence("the evidence does not fit the method's schema", errors=problems) from None
