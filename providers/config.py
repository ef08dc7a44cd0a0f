"""Provider configuration: a pydantic model per provider, and errors that never quote values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

C = TypeVar("C", bound=BaseModel)


def parse_config(model: type[C], name: str, config: Mapping[str, Any]) -> C:
    """Validate ``config``; the error names fields only (a value may be a credential)."""
    try:
        return model.model_validate(dict(config))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<config>'}: {e['type']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
    raise ValueError(f"provider {name!r}: invalid configuration ({problems})")
