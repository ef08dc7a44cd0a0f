"""The policy JSON Schema, generated from :class:`PolicyDocument`.

It is committed as ``policies/schema/policy.schema.json`` (``ageband policy schema --out ...``)
so that editors complete and check policy files through their ``yaml-language-server`` header;
a test fails when the committed file drifts from the model. Durations are ISO 8601 strings
(``format: duration``), as pydantic writes them.
"""

from __future__ import annotations

import json
from typing import Any

from service.policy.model import PolicyDocument

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:ageband:policy:v1"
SCHEMA_TITLE = "ageband policy (apiVersion ageband/v1)"


def policy_json_schema() -> dict[str, Any]:
    body = PolicyDocument.model_json_schema(by_alias=True, mode="validation")
    _close_pattern_maps(body)
    return {"$schema": SCHEMA_DIALECT, "$id": SCHEMA_ID, **body, "title": SCHEMA_TITLE}


def render_policy_schema() -> str:
    return json.dumps(policy_json_schema(), indent=2, sort_keys=True) + "\n"


def _close_pattern_maps(node: Any) -> None:
    """Maps with constrained keys reject other keys, as the model does.

    pydantic writes a ``dict[Name, ...]`` as ``patternProperties`` alone, which lets any key
    that misses the pattern through; the loader would then reject a file the schema accepted.
    """
    if isinstance(node, dict):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_pattern_maps(value)
    elif isinstance(node, list):
        for item in node:
            _close_pattern_maps(item)
