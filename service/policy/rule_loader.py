"""Resolve each jurisdiction's interaction rules along its ``extends`` chain, then compile tables.

A jurisdiction inherits its ancestors' rules; a rule of the same name replaces the inherited one
(in its place), ``disable_rules`` drops inherited ones, and ``unknown_actor``/``unknown_target``
and ``safety_resources`` are inherited like every other field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from service.core.bands import BandSet
from service.core.levels import Levels
from service.policy.compiled import Jurisdiction
from service.policy.interactions import (
    DEFAULT_DENY,
    NO_RULE_REASON,
    Outcome,
    Party,
    PartyKey,
    Rule,
    Scope,
    evaluate,
    outcome_of,
    service_outcomes,
)
from service.policy.model import JurisdictionSpec, PartyCondition
from service.policy.tables import DecisionTables
from service.policy.yaml_source import Path_, SourceMap

Chain = list[tuple[str, JurisdictionSpec, SourceMap]]
AddIssue = Callable[[SourceMap, Path_, str], None]


def _unknown(kind: str, value: object, known: Iterable[str]) -> str:
    return f"unknown {kind} {value!r} (known: {', '.join(known)})"


class _Refs:
    def __init__(self, bands: BandSet, levels: Levels, actions: Iterable[str], add: AddIssue) -> None:
        self.bands = bands
        self.levels = levels
        self.actions = tuple(actions)
        self.add = add

    def party(self, cond: PartyCondition, src: SourceMap, at: Path_) -> Party:
        for i, band in enumerate(cond.bands or []):
            if band not in self.bands:
                self.add(src, (*at, "bands", i), _unknown("band", band, self.bands.names))
        for name in ("min_level", "below_level"):
            level = getattr(cond, name)
            if level is not None and level not in self.levels:
                self.add(src, (*at, name), _unknown("level", level, self.levels.names))
        return Party(
            bands=frozenset(cond.bands) if cond.bands is not None else None,
            min_level=cond.min_level if cond.min_level in self.levels else None,
            below_level=cond.below_level if cond.below_level in self.levels else None,
        )


def resolve(
    code: str,
    chain: Chain,
    bands: BandSet,
    levels: Levels,
    actions: Iterable[str],
    add: AddIssue,
) -> dict[str, Any]:
    """The interaction fields of one jurisdiction (to ``dataclasses.replace`` into it).

    Each jurisdiction's own spec is checked only when that jurisdiction is resolved, so an error
    is reported once, where it is written.
    """
    refs = _Refs(bands, levels, actions, add)
    rules: dict[str, Rule] = {}
    resources: dict[str, tuple[Mapping[str, str], ...]] = {}
    unknown = {"unknown_actor": bands.names[-1], "unknown_target": bands.names[0]}
    for owner, spec, src in reversed(chain):  # ancestors first
        own = owner == code
        base: Path_ = ("jurisdictions", owner)
        for i, name in enumerate(spec.disable_rules or []):
            if name in rules:
                del rules[name]
            elif own:
                add(src, (*base, "disable_rules", i), _unknown("inherited rule", name, sorted(rules)))
        for name, r in (spec.rules or {}).items():
            at: Path_ = (*base, "rules", name)
            if own:
                for i, action in enumerate(r.actions):
                    if action not in refs.actions:
                        add(src, (*at, "actions", i), _unknown("action", action, refs.actions))
            silent = refs if own else _Refs(bands, levels, refs.actions, lambda *_: None)
            rules[name] = Rule(
                name=name,
                actions=frozenset(r.actions),
                actor=silent.party(r.actor, src, (*at, "actor")),
                target=silent.party(r.target, src, (*at, "target")),
                allow=r.effect == "allow",
                priority=r.priority,
                reason=r.reason,
                message=dict(r.message),
                obligations=tuple(r.obligations),
                defined_in=owner,
                file=src.file,
                line=src.line_for(at),
            )
        for field in ("unknown_actor", "unknown_target"):
            band = getattr(spec, field)
            if band is None:
                continue
            if band in bands:
                unknown[field] = band
            elif own:
                add(src, (*base, field), _unknown("band", band, bands.names))
        for country, entries in (spec.safety_resources or {}).items():
            resources[country] = tuple(e.model_dump(exclude_none=True) for e in entries)
    return {"rules": tuple(rules.values()), "safety_resources": resources, **unknown}


def party_keys(bands: BandSet, levels: Levels) -> tuple[PartyKey, ...]:
    """Every (band, level) a party can be: unknown, and each band with no level or each level."""
    keys: list[PartyKey] = [(None, None)]
    for band in bands.names:
        keys.append((band, None))
        keys.extend((band, level) for level in levels.names)
    return tuple(keys)


def scope_of(jurisdiction: Jurisdiction, levels: Levels, default_deny: Outcome = DEFAULT_DENY) -> Scope:
    return Scope(
        rules=jurisdiction.rules,
        level_rank={name: levels.rank(name) for name in levels.names},
        unknown_actor=jurisdiction.unknown_actor,
        unknown_target=jurisdiction.unknown_target,
        outcomes={r.name: outcome_of(r) for r in jurisdiction.rules},
        default_deny=default_deny,
    )


def build_tables(
    jurisdictions: Mapping[str, Jurisdiction],
    bands: BandSet,
    levels: Levels,
    actions: tuple[str, ...],
    messages: Mapping[str, Mapping[str, str]] | None = None,
) -> DecisionTables:
    """Every cell, evaluated once; ``messages`` are the policy's texts for the service's denials."""
    keys = party_keys(bands, levels)
    service = service_outcomes(messages or {})
    cells: dict[str, dict[str, dict[PartyKey, dict[PartyKey, Outcome]]]] = {}
    for code, jurisdiction in jurisdictions.items():
        scope = scope_of(jurisdiction, levels, service[NO_RULE_REASON])
        cells[code] = {
            action: {
                actor: {target: evaluate(scope, action, actor, target)[0] for target in keys}
                for actor in keys
            }
            for action in actions
        }
    return DecisionTables(cells, keys, actions, service)


def with_interactions(jurisdiction: Jurisdiction, fields: dict[str, Any]) -> Jurisdiction:
    return replace(jurisdiction, **fields)
