"""Where the policy tests find their data: the bundled policies, fixture cases and goldens."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
POLICIES = ROOT / "policies"
SCHEMA_FILE = POLICIES / "schema" / "policy.schema.json"
CASES = HERE / "cases"
GOLDEN = HERE / "golden"
