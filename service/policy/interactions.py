"""Interaction rules as the loader resolves them, and the one evaluator the tables are built with.

A party (actor or target) is known to a decision as ``(band, level)``; either may be None.
An unknown band is evaluated as the jurisdiction's ``unknown_actor`` / ``unknown_target`` band
(by default the oldest / the youngest, so an unknown target counts as a child and an unknown
actor is held to what adults may do) and never has an assurance level. A known band with no
level stated ranks below every level.

Precedence: among the matching rules, the highest priority decides; at equal priority a deny
beats an allow; ties between equal rules go to the one declared first. When no rule matches,
the decision is a deny (``no_matching_rule``): the service fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# (band, level): None where the band or the level is unknown.
PartyKey = tuple[str | None, str | None]

NO_RULE = "default-deny"
NO_RULE_REASON = "no_matching_rule"
INVALID_TOKEN_RULE, INVALID_TOKEN_REASON = "invalid-token", "invalid_token"
UNKNOWN_BAND_RULE, UNKNOWN_BAND_REASON = "unknown-band", "unknown_band"
NO_LEVEL = -1  # the rank of an unknown or unstated level: below every level

# The texts of the denials the service makes itself, not a rule: no rule matched; a party's token
# did not verify (or its subject was revoked); a token's band or level is not in the policy (it
# was issued under an earlier one). A policy's ``messages`` section overrides them per locale.
SERVICE_MESSAGES: Mapping[str, Mapping[str, str]] = {
    NO_RULE_REASON: {"en": "This is not allowed.", "de": "Das ist nicht erlaubt."},
    INVALID_TOKEN_REASON: {
        "en": "This is not available right now.",
        "de": "Das ist gerade nicht verfügbar.",
    },
    UNKNOWN_BAND_REASON: {
        "en": "This is not available until the age check is renewed.",
        "de": "Das ist erst nach einer erneuten Altersprüfung verfügbar.",
    },
}
SERVICE_RULES: Mapping[str, str] = {
    NO_RULE_REASON: NO_RULE,
    INVALID_TOKEN_REASON: INVALID_TOKEN_RULE,
    UNKNOWN_BAND_REASON: UNKNOWN_BAND_RULE,
}


@dataclass(frozen=True, slots=True)
class Party:
    """A rule's condition on one party; None means "any"."""

    bands: frozenset[str] | None = None
    min_level: str | None = None
    below_level: str | None = None

    def describe(self) -> str:
        parts = []
        if self.bands is not None:
            parts.append("band in " + ", ".join(sorted(self.bands)))
        if self.min_level is not None:
            parts.append(f"level ≥ {self.min_level}")
        if self.below_level is not None:
            parts.append(f"level < {self.below_level}")
        return " and ".join(parts) or "any"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    actions: frozenset[str]
    actor: Party
    target: Party
    allow: bool
    priority: int
    reason: str
    message: Mapping[str, str]
    obligations: tuple[str, ...]
    # Where it was written, for lint and explain.
    defined_in: str = ""
    file: str = ""
    line: int | None = None

    @property
    def effect(self) -> str:
        return "allow" if self.allow else "deny"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a table cell holds: shared between cells, so a table is mostly references."""

    allowed: bool
    rule: str
    reason: str
    message: Mapping[str, str]
    obligations: tuple[str, ...]


def service_outcomes(overrides: Mapping[str, Mapping[str, str]]) -> dict[str, Outcome]:
    """The service's own denials by reason code, with the policy's texts over the built-in ones."""
    return {
        reason: Outcome(False, SERVICE_RULES[reason], reason, {**texts, **overrides.get(reason, {})}, ())
        for reason, texts in SERVICE_MESSAGES.items()
    }


DEFAULT_DENY = service_outcomes({})[NO_RULE_REASON]


def outcome_of(rule: Rule) -> Outcome:
    return Outcome(rule.allow, rule.name, rule.reason, rule.message, rule.obligations)


@dataclass(frozen=True, slots=True)
class Scope:
    """What evaluation needs from a jurisdiction and the policy's levels."""

    rules: tuple[Rule, ...]
    level_rank: Mapping[str, int]
    unknown_actor: str
    unknown_target: str
    outcomes: Mapping[str, Outcome] = field(default_factory=dict)  # rule name → its shared Outcome
    default_deny: Outcome = DEFAULT_DENY  # when no rule matches: the policy's texts


@dataclass(frozen=True, slots=True)
class Step:
    """One line of an explanation: a rule and whether (and why not) it matched."""

    rule: str
    matched: bool
    why: str
    effect: str
    priority: int


def _party_misses(cond: Party, band: str, rank: int, scope: Scope) -> str | None:
    if cond.bands is not None and band not in cond.bands:
        return f"band {band} not in {', '.join(sorted(cond.bands))}"
    if cond.min_level is not None and rank < scope.level_rank[cond.min_level]:
        return f"level below {cond.min_level}"
    if cond.below_level is not None and rank >= scope.level_rank[cond.below_level]:
        return f"level not below {cond.below_level}"
    return None


def effective(key: PartyKey, unknown_as: str, scope: Scope) -> tuple[str, int]:
    band, level = key
    if band is None:
        return unknown_as, NO_LEVEL
    return band, scope.level_rank[level] if level is not None else NO_LEVEL


def evaluate(scope: Scope, action: str, actor: PartyKey, target: PartyKey) -> tuple[Outcome, list[Step]]:
    """The decision and its trace: every rule, whether it matched, and why not."""
    a_band, a_rank = effective(actor, scope.unknown_actor, scope)
    t_band, t_rank = effective(target, scope.unknown_target, scope)
    trace: list[Step] = []
    best: Rule | None = None
    for rule in scope.rules:
        if action not in rule.actions:
            why: str | None = f"does not cover {action}"
        else:
            miss = _party_misses(rule.actor, a_band, a_rank, scope)
            why = f"actor {miss}" if miss else None
            if why is None:
                miss = _party_misses(rule.target, t_band, t_rank, scope)
                why = f"target {miss}" if miss else None
        trace.append(Step(rule.name, why is None, why or "matched", rule.effect, rule.priority))
        if why is None and (
            best is None
            or rule.priority > best.priority
            or (rule.priority == best.priority and best.allow and not rule.allow)
        ):
            best = rule
    if best is None:
        return scope.default_deny, trace
    return scope.outcomes.get(best.name) or outcome_of(best), trace
