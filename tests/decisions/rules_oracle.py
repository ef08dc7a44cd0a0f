"""A plain interpreter of the YAML interaction rules: the oracle the compiled tables must agree with.

Written from the documented semantics, straight over the raw YAML mappings, sharing no code with
service.policy beyond reading the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.policy.yaml_source import read

Party = tuple[str | None, str | None, str | None]  # band, level, upper_level


class Oracle:
    def __init__(self, path: Path) -> None:
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        self.raw: dict[str, Any] = {"jurisdictions": {}}
        for f in files:
            doc, _ = read(f)
            self.raw["jurisdictions"].update(doc.pop("jurisdictions", {}) or {})
            self.raw.update(doc)
        self.bands: list[str] = [b["name"] for b in self.raw["bands"]]
        self.top: list[bool] = ["max" not in b for b in self.raw["bands"]]
        self.levels: list[str] = list(self.raw["levels"])
        self.actions: list[str] = list(self.raw.get("actions") or {})

    def chain(self, code: str) -> list[dict[str, Any]]:
        out = []
        current: str | None = code
        while current is not None:
            spec = self.raw["jurisdictions"][current]
            out.append(spec)
            current = spec.get("extends")
        return out[::-1]  # root first

    def rules(self, code: str) -> list[tuple[str, dict[str, Any]]]:
        rules: dict[str, dict[str, Any]] = {}
        for spec in self.chain(code):
            for name in spec.get("disable_rules") or []:
                rules.pop(name, None)
            rules.update(spec.get("rules") or {})  # a redefined name keeps its place
        return list(rules.items())

    def unknown_as(self, code: str, field: str, default: str) -> str:
        value = default
        for spec in self.chain(code):
            value = spec.get(field) or value
        return value

    def _rank(self, level: str | None) -> int:
        return self.levels.index(level) if level is not None else -1

    def _matches(self, cond: dict[str, Any] | None, band: str, rank: int, upper: int) -> bool:
        cond = cond or {}
        if "bands" in cond and band not in cond["bands"]:
            return False
        if "min_level" in cond and rank < self._rank(cond["min_level"]):
            return False
        if "below_level" in cond and rank >= self._rank(cond["below_level"]):
            return False
        if "min_upper_level" in cond and upper < self._rank(cond["min_upper_level"]):
            return False
        return not ("below_upper_level" in cond and upper >= self._rank(cond["below_upper_level"]))

    def _apart(self, rule: dict[str, Any], a_band: str, t_band: str) -> bool:
        bounds = rule.get("band_distance") or {}
        distance = abs(self.bands.index(a_band) - self.bands.index(t_band))
        return bounds.get("min", 0) <= distance <= bounds.get("max", len(self.bands))

    def decide(self, code: str, action: str, actor: Party, target: Party) -> tuple[bool, str, str]:
        """(allowed, rule name, reason code)."""
        a_band = actor[0] or self.unknown_as(code, "unknown_actor", self.bands[-1])
        a_rank, a_upper = (self._rank(actor[1]), self._rank(actor[2])) if actor[0] else (-1, -1)
        t_band = target[0] or self.unknown_as(code, "unknown_target", self.bands[0])
        t_rank, t_upper = (self._rank(target[1]), self._rank(target[2])) if target[0] else (-1, -1)
        matching = [
            (name, rule)
            for name, rule in self.rules(code)
            if action in rule["actions"]
            and self._matches(rule.get("actor"), a_band, a_rank, a_upper)
            and self._matches(rule.get("target"), t_band, t_rank, t_upper)
            and self._apart(rule, a_band, t_band)
        ]
        if not matching:
            return (False, "default-deny", "no_matching_rule")
        top = max(rule.get("priority", 0) for _, rule in matching)
        best = [(n, r) for n, r in matching if r.get("priority", 0) == top]
        denies = [(n, r) for n, r in best if r["effect"] == "deny"]
        name, rule = (denies or best)[0]
        return (rule["effect"] == "allow", name, rule["reason"])

    def parties(self) -> list[Party]:
        """Unknown, and every band with every level (or none) on each edge; the top band has
        no upper edge."""
        out: list[Party] = [(None, None, None)]
        stated: list[str | None] = [None, *self.levels]
        for band, top in zip(self.bands, self.top, strict=True):
            out.extend((band, level, upper) for level in stated for upper in ([None] if top else stated))
        return out
