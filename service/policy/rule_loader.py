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
    Distance,
    Effective,
    Outcome,
    Party,
    PartyKey,
    Rule,
    Scope,
    effective,
    evaluate,
    outcome_of,
    party_misses,
    service_outcomes,
)
from service.policy.model import BandDistance, JurisdictionSpec, PartyCondition
from service.policy.tables import CompactTable, DecisionTables
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
        levels: dict[str, str | None] = {}
        for name in ("min_level", "below_level", "min_upper_level", "below_upper_level"):
            level = getattr(cond, name)
            if level is not None and level not in self.levels:
                self.add(src, (*at, name), _unknown("level", level, self.levels.names))
            levels[name] = level if level in self.levels else None
        return Party(bands=frozenset(cond.bands) if cond.bands is not None else None, **levels)

    def distance(self, spec: BandDistance | None, src: SourceMap, at: Path_) -> Distance | None:
        if spec is None:
            return None
        if spec.min is None and spec.max is None:
            self.add(src, at, "give min, max or both")
        elif spec.min is not None and spec.max is not None and spec.min > spec.max:
            self.add(src, (*at, "min"), f"min {spec.min} is more than max {spec.max}")
        return Distance(spec.min, spec.max)


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
                band_distance=silent.distance(r.band_distance, src, (*at, "band_distance")),
                allow=r.effect == "allow",
                priority=r.priority,
                reason=r.reason,
                message=dict(r.message),
                obligations=tuple(r.obligations),
                relaxable=r.relaxable,
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
    """Every (band, level, upper_level) a party can be: unknown, and each band with no level or
    each level on either edge."""
    keys: list[PartyKey] = [(None, None, None)]
    stated = (None, *levels.names)
    for band in bands.names:
        uppers = stated if bands.get(band).hi is not None else (None,)  # the top band has no upper edge
        keys.extend((band, level, upper) for level in stated for upper in uppers)
    return tuple(keys)


def scope_of(
    jurisdiction: Jurisdiction, levels: Levels, bands: BandSet, default_deny: Outcome = DEFAULT_DENY
) -> Scope:
    return Scope(
        rules=jurisdiction.rules,
        level_rank={name: levels.rank(name) for name in levels.names},
        unknown_actor=jurisdiction.unknown_actor,
        unknown_target=jurisdiction.unknown_target,
        outcomes={r.name: outcome_of(r) for r in jurisdiction.rules},
        default_deny=default_deny,
        band_rank={name: bands.rank(name) for name in bands.names},
    )


def party_classes(
    keys: tuple[PartyKey, ...], scope: Scope, side: str
) -> tuple[tuple[int, ...], list[PartyKey]]:
    """Parties the rules cannot tell apart share a class: each key's class, and one key per class.

    Two parties are alike when they meet the same rules' conditions on this side and, if a rule
    bounds the distance between bands, are evaluated as the same band.
    """
    unknown_as = scope.unknown_actor if side == "actor" else scope.unknown_target
    by_band = any(rule.band_distance is not None for rule in scope.rules)
    seen: dict[tuple[object, ...], int] = {}
    classes: list[int] = []
    representatives: list[PartyKey] = []
    for key in keys:
        party = effective(key, unknown_as, scope)
        probes = [_meets(rule, side, party, scope) for rule in scope.rules]
        signature = (party.band if by_band else None, *probes)
        if signature not in seen:
            seen[signature] = len(representatives)
            representatives.append(key)
        classes.append(seen[signature])
    return tuple(classes), representatives


def _meets(rule: Rule, side: str, party: Effective, scope: Scope) -> bool:
    cond = rule.actor if side == "actor" else rule.target
    return party_misses(cond, party, scope) is None


def build_tables(
    jurisdictions: Mapping[str, Jurisdiction],
    bands: BandSet,
    levels: Levels,
    actions: tuple[str, ...],
    messages: Mapping[str, Mapping[str, str]] | None = None,
) -> DecisionTables:
    """Every cell, with ``messages`` the policy's texts for the service's denials.

    Each rule is evaluated once per pair of party classes, not per pair of parties: the
    classes come from the rules' conditions (a few per side), the parties from every band and
    level on both edges (a hundred). Actors of one class share one row.
    """
    keys = party_keys(bands, levels)
    service = service_outcomes(messages or {})
    cells: dict[str, dict[str, dict[PartyKey, dict[PartyKey, Outcome]]]] = {}
    compact: dict[str, CompactTable] = {}
    for code, jurisdiction in jurisdictions.items():
        scope = scope_of(jurisdiction, levels, bands, service[NO_RULE_REASON])
        actor_class, actor_reps = party_classes(keys, scope, "actor")
        target_class, target_reps = party_classes(keys, scope, "target")
        by_action: dict[str, dict[PartyKey, dict[PartyKey, Outcome]]] = {}
        grids: dict[str, tuple[tuple[Outcome, ...], ...]] = {}
        for action in actions:
            grid = tuple(
                tuple(evaluate(scope, action, actor, target)[0] for target in target_reps)
                for actor in actor_reps
            )
            rows = [
                {key: outcomes[c] for key, c in zip(keys, target_class, strict=True)} for outcomes in grid
            ]
            by_action[action] = {key: rows[c] for key, c in zip(keys, actor_class, strict=True)}
            grids[action] = grid
        cells[code] = by_action
        compact[code] = CompactTable(actor_class, target_class, grids)
    return DecisionTables(cells, keys, actions, service, compact, top_band=bands.names[-1])


def with_interactions(jurisdiction: Jurisdiction, fields: dict[str, Any]) -> Jurisdiction:
    return replace(jurisdiction, **fields)
