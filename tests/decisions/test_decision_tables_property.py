"""The compiled tables agree with a plain interpreter of the YAML, cell by cell.

First over the shipped policies (every jurisdiction, action, band and level on both edges of
actor and target), then over random rule sets hypothesis writes: extends chains, replaced and
disabled rules, priorities, level conditions on either edge, band distances and unknown-band
settings (there over a sample of parties hypothesis picks, so each example stays quick).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factories import POLICIES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_oracle import Oracle

from service.policy.loader import load_policy
from service.policy.yaml_source import read


def _assert_agrees(path: Path, sample: list[int] | None = None) -> int:
    policy = load_policy(path)
    oracle = Oracle(path)
    parties = oracle.parties()
    assert set(policy.tables.party_keys) == set(parties)
    if sample is not None:
        parties = [parties[i % len(parties)] for i in sample]
    n = 0
    for code in policy.jurisdictions:
        for action in oracle.actions:
            for actor in parties:
                for target in parties:
                    o = policy.tables.decide(code, action, actor, target)
                    expected = oracle.decide(code, action, actor, target)
                    assert (o.allowed, o.rule, o.reason) == expected, (code, action, actor, target)
                    n += 1
    return n


def test_shipped_policies_agree_with_the_oracle_in_every_cell() -> None:
    # 81 parties (3 minor bands × 25, 18_plus × 5, unknown), 6 jurisdictions, 7 actions
    assert _assert_agrees(POLICIES) == 81 * 81 * 6 * 7


BANDS = ["under_13", "13_15", "16_17", "18_plus"]
LEVELS = ["basic", "effective", "highly_effective", "strict"]
ACTIONS = ["profile.view", "search.include", "suggest.friend", "contact.request", "message.send"]


@st.composite
def _party(draw: st.DrawFn) -> dict[str, Any]:
    cond: dict[str, Any] = {}
    if draw(st.booleans()):
        cond["bands"] = draw(st.lists(st.sampled_from(BANDS), min_size=1, max_size=3, unique=True))
    if draw(st.integers(0, 3)) == 0:
        cond["min_level"] = draw(st.sampled_from(LEVELS))
    if draw(st.integers(0, 3)) == 0:
        cond["below_level"] = draw(st.sampled_from(LEVELS))
    if draw(st.integers(0, 3)) == 0:
        cond["min_upper_level"] = draw(st.sampled_from(LEVELS))
    if draw(st.integers(0, 3)) == 0:
        cond["below_upper_level"] = draw(st.sampled_from(LEVELS))
    return cond


@st.composite
def _distance(draw: st.DrawFn) -> dict[str, int]:
    low = draw(st.integers(0, 3))
    return draw(
        st.sampled_from([{"min": low}, {"max": low}, {"min": low, "max": low + draw(st.integers(0, 2))}])
    )


@st.composite
def _rule(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "actions": draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3, unique=True)),
        "actor": draw(_party()),
        "target": draw(_party()),
        **({"band_distance": draw(_distance())} if draw(st.integers(0, 3)) == 0 else {}),
        "effect": draw(st.sampled_from(["allow", "deny"])),
        "priority": draw(st.sampled_from([-10, 0, 0, 0, 5])),
        "reason": draw(st.sampled_from(["r_a", "r_b", "r_c"])),
        "message": {"en": "m"},
    }


NAMES = st.sampled_from(["r1", "r2", "r3", "r4", "r5", "r6"])


@st.composite
def _policies(draw: st.DrawFn) -> dict[str, Any]:
    default: dict[str, Any] = {"rules": draw(st.dictionaries(NAMES, _rule(), max_size=5))}
    codes = ["default"]
    juris: dict[str, Any] = {}
    for code in ["AA", "BB", "CC"][: draw(st.integers(0, 3))]:
        spec: dict[str, Any] = {"extends": draw(st.sampled_from(codes))}
        spec["rules"] = draw(st.dictionaries(NAMES, _rule(), max_size=3))
        spec["disable_rules"] = draw(st.lists(NAMES, max_size=2, unique=True))
        for field in ("unknown_actor", "unknown_target"):
            if draw(st.booleans()):
                spec[field] = draw(st.sampled_from(BANDS))
        juris[code] = spec
        codes.append(code)
    return {"default": default, **juris}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=_policies(), sample=st.lists(st.integers(0, 100), min_size=24, max_size=24))
def test_random_rule_sets_agree_with_the_oracle(
    generated: dict[str, Any], sample: list[int], tmp_path: Path
) -> None:
    raw, _ = read(POLICIES / "default.yaml")
    base = {k: v for k, v in raw["jurisdictions"]["default"].items() if k not in ("rules",)}
    raw["jurisdictions"] = {"default": {**base, **generated["default"]}}
    for code, spec in generated.items():
        if code == "default":
            continue
        # A disabled rule must be an inherited one: keep only names the chain really has.
        inherited = _names(raw["jurisdictions"], spec["extends"])
        spec["disable_rules"] = [n for n in spec["disable_rules"] if n in inherited]
        raw["jurisdictions"][code] = spec
    raw["retention"] = "P400D"
    raw["actions"] = {a: {} for a in ACTIONS}
    raw.pop("depicted", None)  # adult content needs content.publish, which these actions leave out
    path = tmp_path / "generated.yaml"
    path.write_text(json.dumps(raw, default=str), encoding="utf-8")
    _assert_agrees(path, [0, *sample])  # the unknown party, and 24 of the others


def _names(juris: dict[str, Any], code: str | None) -> set[str]:
    names: set[str] = set()
    chain = []
    while code is not None:
        chain.append(juris[code])
        code = juris[code].get("extends")
    for spec in reversed(chain):
        names -= set(spec.get("disable_rules") or [])
        names |= set(spec.get("rules") or {})
    return names
