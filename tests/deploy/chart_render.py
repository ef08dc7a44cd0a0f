"""Render the Helm chart with Helm's own engine (Go SDK through helm-python-sdk, no helm binary)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "ageband"
SCENARIOS = sorted(p.name for p in CHART.glob("values-*.yaml"))
# Every policy file, as the documented install passes them (one --set-file each).
POLICY_FILES = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "policies").glob("*.yaml"))}
RELEASE = "ageband"
NAMESPACE = "prod"


def oldest_kubernetes() -> str:
    """The oldest minor the chart supports, from Chart.yaml's kubeVersion (``>=1.29.0-0``)."""
    constraint = yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"]
    m = re.fullmatch(r">=\s*(\d+)\.(\d+)\.0-0", constraint)
    assert m, f"kubeVersion must be a plain lower bound, got {constraint!r}"
    return f"{m.group(1)}.{m.group(2)}.0"


def scenario_values(name: str) -> dict[str, Any]:
    """A scenario file plus the policy passed the documented way (--set-file policy.files...)."""
    values: dict[str, Any] = yaml.safe_load((CHART / name).read_text(encoding="utf-8"))
    policy = values.setdefault("policy", {})
    if not policy.get("existingConfigMap"):
        policy["files"] = dict(POLICY_FILES)
    return values


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    with helm.Chart.load(CHART) as chart:
        out = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    docs: list[dict[str, Any]] = []
    for path, text in sorted(out.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


@functools.cache
def _rendered(name: str) -> str:
    return yaml.safe_dump_all(render(scenario_values(name)))


def rendered(name: str) -> list[dict[str, Any]]:
    """The scenario's manifests (cached as text; each call gets fresh objects)."""
    return [d for d in yaml.safe_load_all(_rendered(name)) if d]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in container["env"]}
