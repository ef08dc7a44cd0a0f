"""What changes between two policies: settings (re-checks, waterfall, grace, ...) and decisions.

Settings are compared as flat ``path → text`` maps, per jurisdiction and for the policy as a
whole (bands, levels, methods, actions, retention, texts). Decisions are compared cell by cell:
jurisdiction × action × actor (band, level) × target (band, level).

A jurisdiction that is new is compared with the one it extends, in the new policy: what a
policy owner reviews is how it differs from its parent, not its thousands of cells one by one.
A new jurisdiction that extends nothing, and a removed one, are counted, not itemised.

For reading, :func:`grouped` folds cells that change alike into rows such as "actor
``16_17 (any level)``, target ``any``": one rule change reads as one row, not hundreds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from service.core.durations import format_duration
from service.policy.compiled import Jurisdiction, Policy
from service.policy.interactions import Outcome, PartyKey, Rule
from service.policy.reviews import review_settings

POLICY_WIDE = "*"  # the jurisdiction column of a setting of the whole policy
Status = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class SettingChange:
    jurisdiction: str  # or POLICY_WIDE
    setting: str  # a path as the policy file writes it, e.g. recheck.bands.18_plus
    old: str | None  # None: not set
    new: str | None


@dataclass(frozen=True, slots=True)
class DecisionChange:
    jurisdiction: str
    action: str
    actor: PartyKey
    target: PartyKey
    old: str | None  # "allow (rule)" / "deny (rule)"; None: no such cell
    new: str | None

    @property
    def now_allowed(self) -> bool:
        return _allows(self.new) and not _allows(self.old)

    @property
    def now_denied(self) -> bool:
        return _allows(self.old) and not _allows(self.new)


@dataclass(slots=True)
class JurisdictionChange:
    code: str
    status: Status
    baseline: str | None = None  # what an added jurisdiction is compared with (its parent)
    settings: int = 0
    decisions: Counter[str] = field(default_factory=Counter)  # per action
    now_allowed: Counter[str] = field(default_factory=Counter)
    now_denied: Counter[str] = field(default_factory=Counter)

    @property
    def change(self) -> str:
        if self.status == "added":
            return f"added, vs {self.baseline}" if self.baseline else "added, extends nothing"
        return self.status


@dataclass(frozen=True, slots=True)
class DecisionGroup:
    """Cells of one jurisdiction and action that change alike: every actor × every target."""

    jurisdiction: str
    action: str
    actors: str
    targets: str
    old: str | None
    new: str | None
    cells: int


@dataclass(slots=True)
class PolicyDiff:
    old_version: str
    new_version: str
    party_keys: tuple[PartyKey, ...] = ()  # every (band, level) of either policy, in policy order
    jurisdictions: list[JurisdictionChange] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    settings: list[SettingChange] = field(default_factory=list)
    decisions: list[DecisionChange] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.settings or self.decisions or self.jurisdictions)

    def as_dict(self) -> dict[str, Any]:
        """Every change (never limited), for scripts: ``ageband policy diff --json``."""
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "jurisdictions": [
                {
                    "jurisdiction": j.code,
                    "status": j.status,
                    "compared_with": j.baseline if j.status == "added" else j.code,
                    "settings": j.settings,
                    "decisions": dict(j.decisions),
                    "now_allowed": dict(j.now_allowed),
                    "now_denied": dict(j.now_denied),
                }
                for j in self.jurisdictions
            ],
            "unchanged": self.unchanged,
            "settings": [asdict(s) for s in self.settings],
            "decisions": [
                {**asdict(d), "actor": party_label(d.actor), "target": party_label(d.target)}
                for d in self.decisions
            ],
        }


def diff_policies(
    old: Policy,
    new: Policy,
    jurisdictions: Collection[str] = (),
    actions: Collection[str] = (),
) -> PolicyDiff:
    """Every change, limited to the given jurisdictions and actions when any are given (settings
    of the whole policy are always compared; ``actions`` limits decisions only)."""
    keys = (*new.tables.party_keys, *(k for k in old.tables.party_keys if k not in new.tables.party_keys))
    out = PolicyDiff(old.version, new.version, keys)
    out.settings += _changes(POLICY_WIDE, policy_settings(old), policy_settings(new))
    codes = sorted(set(old.jurisdictions) | set(new.jurisdictions), key=_code_order)
    every_action = sorted(set(old.actions) | set(new.actions))
    wanted = [a for a in every_action if not actions or a in actions]
    for code in codes:
        if jurisdictions and code not in jurisdictions:
            continue
        summary = _jurisdiction_diff(old, new, code, wanted, out)
        if summary is None:
            out.unchanged.append(code)
        else:
            out.jurisdictions.append(summary)
    return out


def _jurisdiction_diff(
    old: Policy, new: Policy, code: str, actions: list[str], out: PolicyDiff
) -> JurisdictionChange | None:
    before, after = old.jurisdictions.get(code), new.jurisdictions.get(code)
    if after is None:
        change = JurisdictionChange(code, "removed")
        for action in actions:
            change.decisions[action] = len(_cells(old, code, action))
        return change
    base_policy, base_code = old, code
    if before is None:
        change = JurisdictionChange(code, "added", baseline=_baseline(new, after))
        if change.baseline is None:  # nothing to compare with: counted, not itemised
            change.settings = len(jurisdiction_settings(after))
            for action in actions:
                change.decisions[action] = len(_cells(new, code, action))
            return change
        base_policy, base_code = new, change.baseline
    else:
        change = JurisdictionChange(code, "changed")
    settings = _changes(
        code,
        jurisdiction_settings(base_policy.jurisdictions[base_code]),
        jurisdiction_settings(after),
    )
    out.settings += settings
    change.settings = len(settings)
    for action in actions:
        for d in _decision_changes(base_policy, base_code, new, code, action):
            out.decisions.append(d)
            change.decisions[action] += 1
            change.now_allowed[action] += d.now_allowed
            change.now_denied[action] += d.now_denied
    if change.status == "changed" and not change.settings and not change.decisions:
        return None
    return change


def _baseline(policy: Policy, jurisdiction: Jurisdiction) -> str | None:
    parent = jurisdiction.extends
    return parent if parent in policy.jurisdictions else None


def _decision_changes(
    old: Policy, old_code: str, new: Policy, code: str, action: str
) -> list[DecisionChange]:
    before, after = _cells(old, old_code, action), _cells(new, code, action)
    keys = sorted(set(before) | set(after), key=lambda k: (_key_order(k[0]), _key_order(k[1])))
    out = []
    for actor, target in keys:
        was, now = _text(before.get((actor, target))), _text(after.get((actor, target)))
        if was != now:
            out.append(DecisionChange(code, action, actor, target, was, now))
    return out


def grouped(diff: PolicyDiff) -> list[DecisionGroup]:
    """The decision changes folded into rows of actors × targets that change alike."""
    cells: dict[tuple[str, str, str | None, str | None], dict[PartyKey, set[PartyKey]]] = {}
    for d in diff.decisions:
        by_actor = cells.setdefault((d.jurisdiction, d.action, d.old, d.new), {})
        by_actor.setdefault(d.actor, set()).add(d.target)
    out = []
    for (code, action, old, new), by_actor in cells.items():
        actors_by_targets: dict[frozenset[PartyKey], list[PartyKey]] = {}  # alike: one row
        for actor, changed in by_actor.items():
            actors_by_targets.setdefault(frozenset(changed), []).append(actor)
        for targets, actors in actors_by_targets.items():
            out.append(
                DecisionGroup(
                    code,
                    action,
                    describe_parties(set(actors), diff.party_keys),
                    describe_parties(set(targets), diff.party_keys),
                    old,
                    new,
                    len(actors) * len(targets),
                )
            )
    return out


def describe_parties(parties: set[PartyKey], keys: tuple[PartyKey, ...]) -> str:
    """``any``; a band whose every variant is in the set as ``16_17 (any level)``; a band and
    lower-edge level with every upper edge as ``13_15@basic (any upper edge)``; else each."""
    if parties >= set(keys):
        return "any"
    labels = []
    for band in dict.fromkeys(k[0] for k in keys):
        variants = [k for k in keys if k[0] == band]
        have = [k for k in variants if k in parties]
        if len(have) == len(variants) > 1:
            labels.append(f"{band} (any level)")
            continue
        for level in dict.fromkeys(k[1] for k in variants):
            same = [k for k in variants if k[1] == level]
            mine = [k for k in same if k in parties]
            if len(mine) == len(same) > 1:
                labels.append(f"{party_label((band, level, None))} (any upper edge)")
            else:
                labels += [party_label(k) for k in mine]
    return ", ".join(labels)


def _cells(policy: Policy, code: str, action: str) -> dict[tuple[PartyKey, PartyKey], Outcome]:
    rows = policy.tables.cells.get(code, {}).get(action, {})
    return {(actor, target): o for actor, row in rows.items() for target, o in row.items()}


def _text(outcome: Outcome | None) -> str | None:
    if outcome is None:
        return None
    return f"{'allow' if outcome.allowed else 'deny'} ({outcome.rule})"


def _allows(text: str | None) -> bool:
    return text is not None and text.startswith("allow")


def party_label(key: PartyKey) -> str:
    """``18_plus@effective``, ``18_plus`` (no level stated), ``13_15@basic (upper effective)``
    (the band's upper edge established at effective) or ``unknown``."""
    band, level, upper = key
    if band is None:
        return "unknown"
    label = f"{band}@{level}" if level else band
    return f"{label} (upper {upper})" if upper else label


def _key_order(key: PartyKey) -> tuple[str, str, str]:
    return (key[0] or "", key[1] or "", key[2] or "")


def _code_order(code: str) -> tuple[bool, str]:
    return (code != "default", code)  # default first: the others extend it


def _changes(where: str, old: Mapping[str, str], new: Mapping[str, str]) -> list[SettingChange]:
    return [
        SettingChange(where, path, old.get(path), new.get(path))
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    ]


def policy_settings(policy: Policy) -> dict[str, str]:
    """The policy-wide settings as ``path → text``."""
    out = {
        "bands": ", ".join(
            f"{b.name} {b.lo}-{b.hi}" if b.hi is not None else f"{b.name} {b.lo}+" for b in policy.bands
        ),
        "levels": " < ".join(policy.levels.names),
        "actions": ", ".join(policy.actions),
        "retention": format_duration(policy.retention),
        "default_locale": policy.default_locale,
    }
    for name, m in policy.methods.items():
        at = f"methods.{name}"
        out |= {
            f"{at}.class": m.method_class,
            f"{at}.level": m.level,
            f"{at}.buffer": f"{m.buffer:g}",
            f"{at}.sigma_k": f"{m.sigma_k:g}",
            f"{at}.max_sigma": "none" if m.max_sigma is None else f"{m.max_sigma:g}",
            f"{at}.liveness": str(m.liveness).lower(),
            f"{at}.on_inconclusive": m.on_inconclusive.value if m.on_inconclusive else "(jurisdiction's)",
        }
        out |= {f"{at}.qualifier_levels.{q}": lvl for q, lvl in m.qualifier_levels.items()}
        out |= {f"{at}.description.{loc}": text for loc, text in m.description.items()}
    out |= {f"explanation.keeps.{loc}": text for loc, text in policy.explanation_keeps.items()}
    out |= {f"explanation.why.{loc}": text for loc, text in policy.explanation_why.items()}
    for reason, outcome in policy.tables.service.items():
        out |= {f"messages.{reason}.{loc}": text for loc, text in outcome.message.items()}
    return out


def jurisdiction_settings(j: Jurisdiction) -> dict[str, str]:
    """A jurisdiction's settings as ``path → text``, inherited values resolved."""
    out = {f"required_level.{band}": level for band, level in j.required_level.items()}
    out |= {
        "waterfall": ", ".join(j.waterfall),
        "on_inconclusive": j.on_inconclusive.value,
        "on_exhausted": j.on_exhausted.value,
        "recheck.default": format_duration(j.recheck_default),
        "grace": format_duration(j.grace),
        "attempts.per_check": str(j.per_check_attempts),
        "attempts.per_method": str(j.per_method_attempts),
        "check_ttl": format_duration(j.check_ttl),
        "unknown_actor": j.unknown_actor,
        "unknown_target": j.unknown_target,
    }
    out |= {f"recheck.bands.{b}": format_duration(v) for b, v in j.recheck_bands.items()}
    out |= {f"recheck.methods.{m}": format_duration(v) for m, v in j.recheck_methods.items()}
    for name in ("per_sid", "per_device", "per_ip", "failures", "method_shopping"):
        limit = getattr(j.abuse, name)
        if limit is not None:
            out[f"abuse.{name}"] = f"{limit.max} per {format_duration(limit.window)}"
    for signal, s in j.abuse.sanctions.items():
        at = f"abuse.sanctions.{signal}"
        out |= {
            f"{at}.lock": format_duration(s.lock) if s.lock else "none",
            f"{at}.min_level": s.min_level or "none",
            f"{at}.revoke_tokens": str(s.revoke_tokens).lower(),
            f"{at}.notify": str(s.notify).lower(),
            f"{at}.remember": format_duration(s.remember),
        }
        out |= {f"{at}.message.{loc}": text for loc, text in s.message.items()}
    for rule in j.rules:
        out |= _rule_settings(rule)
    out |= review_settings(j)
    for country, entries in j.safety_resources.items():
        out[f"safety_resources.{country}"] = "; ".join(
            ", ".join(str(v) for v in entry.values()) for entry in entries
        )
    return out


def _rule_settings(rule: Rule) -> dict[str, str]:
    at = f"rules.{rule.name}"
    out = {
        f"{at}.actions": ", ".join(sorted(rule.actions)),
        f"{at}.actor": rule.actor.describe(),
        f"{at}.target": rule.target.describe(),
        f"{at}.effect": rule.effect,
        f"{at}.priority": str(rule.priority),
        f"{at}.reason": rule.reason,
        f"{at}.obligations": ", ".join(rule.obligations) or "none",
        f"{at}.relaxable": str(rule.relaxable).lower(),
    }
    return out | {f"{at}.message.{loc}": text for loc, text in rule.message.items()}
