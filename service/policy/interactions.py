"""Interaction rules as the loader resolves them, and the one evaluator the tables are built with.

A party (actor or target) is known to a decision as ``(band, level, upper_level)``; any may be
None. ``level`` says how well the band's lower edge is established ("at least 13", what adult
access needs), ``upper_level`` how well its upper edge is ("at most 15", what entry to
children's spaces needs); None means not established. An unknown band is evaluated as the
jurisdiction's ``unknown_actor`` / ``unknown_target`` band (by default the oldest / the
youngest, so an unknown target counts as a child and an unknown actor is held to what adults
may do) and has no assurance on either edge. A known band with no level stated ranks below
every level.

Precedence: among the matching rules, the highest priority decides; at equal priority a deny
beats an allow; ties between equal rules go to the one declared first. When no rule matches,
the decision is a deny (``no_matching_rule``): the service fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# (band, level, upper_level): None where the band or an edge's level is unknown.
PartyKey = tuple[str | None, str | None, str | None]

NO_RULE = "default-deny"
NO_RULE_REASON = "no_matching_rule"
INVALID_TOKEN_RULE, INVALID_TOKEN_REASON = "invalid-token", "invalid_token"
UNKNOWN_BAND_RULE, UNKNOWN_BAND_REASON = "unknown-band", "unknown_band"
NO_LEVEL = -1  # the rank of an unknown or unstated level: below every level

# The texts of the denials the service makes itself, not a rule: no rule matched; a party's token
# did not verify (or its subject was revoked); a token's band or level is not in the policy (it
# was issued under an earlier one). A policy's ``messages`` section overrides them per locale.
SERVICE_MESSAGES: Mapping[str, Mapping[str, str]] = {
    NO_RULE_REASON: {
        "en": "This is not allowed.",
        "de": "Das ist nicht erlaubt.",
        "fr": "Ce n'est pas autorisé.",
        "es": "Esto no está permitido.",
        "it": "Non è consentito.",
        "nl": "Dit is niet toegestaan.",
        "pl": "To jest niedozwolone.",
        "pt-BR": "Isso não é permitido.",
        "sv": "Det här är inte tillåtet.",
        "fi": "Tämä ei ole sallittua.",
    },
    INVALID_TOKEN_REASON: {
        "en": "This is not available right now.",
        "de": "Das ist gerade nicht verfügbar.",
        "fr": "Ce n'est pas disponible pour le moment.",
        "es": "Esto no está disponible en este momento.",
        "it": "Al momento non è disponibile.",
        "nl": "Dit is op dit moment niet beschikbaar.",
        "pl": "To jest teraz niedostępne.",
        "pt-BR": "Isso não está disponível no momento.",
        "sv": "Det här är inte tillgängligt just nu.",
        "fi": "Tämä ei ole juuri nyt saatavilla.",
    },
    UNKNOWN_BAND_REASON: {
        "en": "This is not available until the age check is renewed.",
        "de": "Das ist erst nach einer erneuten Altersprüfung verfügbar.",
        "fr": "Ce n'est disponible qu'une fois la vérification de l'âge renouvelée.",
        "es": "Esto no estará disponible hasta que se renueve la verificación de edad.",
        "it": "Sarà disponibile solo dopo una nuova verifica dell'età.",
        "nl": "Dit is pas beschikbaar na een nieuwe leeftijdscontrole.",
        "pl": "Będzie to dostępne dopiero po ponownej weryfikacji wieku.",
        "pt-BR": "Isso só vai ficar disponível depois que a verificação de idade for renovada.",
        "sv": "Det här blir tillgängligt först när ålderskontrollen har förnyats.",
        "fi": "Tämä on saatavilla vasta, kun ikätarkistus on uusittu.",
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
    min_upper_level: str | None = None
    below_upper_level: str | None = None

    def describe(self) -> str:
        parts = []
        if self.bands is not None:
            parts.append("band in " + ", ".join(sorted(self.bands)))
        if self.min_level is not None:
            parts.append(f"level ≥ {self.min_level}")
        if self.below_level is not None:
            parts.append(f"level < {self.below_level}")
        if self.min_upper_level is not None:
            parts.append(f"upper edge ≥ {self.min_upper_level}")
        if self.below_upper_level is not None:
            parts.append(f"upper edge < {self.below_upper_level}")
        return " and ".join(parts) or "any"


@dataclass(frozen=True, slots=True)
class Distance:
    """How many bands apart actor and target must be; None means no bound."""

    min: int | None = None
    max: int | None = None

    def misses(self, distance: int) -> str | None:
        if self.min is not None and distance < self.min:
            return f"bands {distance} apart, fewer than {self.min}"
        if self.max is not None and distance > self.max:
            return f"bands {distance} apart, more than {self.max}"
        return None

    def describe(self) -> str:
        if self.min is not None and self.max is not None:
            return f"bands {self.min} to {self.max} apart"
        if self.min is not None:
            return f"bands at least {self.min} apart"
        return f"bands at most {self.max} apart"


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
    band_distance: Distance | None = None
    relaxable: bool = False  # a trusted connection sets it aside

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
    band_rank: Mapping[str, int] = field(default_factory=dict)  # youngest band 0
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


@dataclass(frozen=True, slots=True)
class Effective:
    """A party as the rules see it: its band (an unknown one replaced) and its edges' ranks."""

    band: str
    rank: int
    upper_rank: int


def party_misses(cond: Party, party: Effective, scope: Scope) -> str | None:
    if cond.bands is not None and party.band not in cond.bands:
        return f"band {party.band} not in {', '.join(sorted(cond.bands))}"
    if cond.min_level is not None and party.rank < scope.level_rank[cond.min_level]:
        return f"level below {cond.min_level}"
    if cond.below_level is not None and party.rank >= scope.level_rank[cond.below_level]:
        return f"level not below {cond.below_level}"
    if cond.min_upper_level is not None and party.upper_rank < scope.level_rank[cond.min_upper_level]:
        return f"upper edge below {cond.min_upper_level}"
    if cond.below_upper_level is not None and party.upper_rank >= scope.level_rank[cond.below_upper_level]:
        return f"upper edge not below {cond.below_upper_level}"
    return None


def effective(key: PartyKey, unknown_as: str, scope: Scope) -> Effective:
    band, level, upper = key
    if band is None:
        return Effective(unknown_as, NO_LEVEL, NO_LEVEL)
    rank = scope.level_rank[level] if level is not None else NO_LEVEL
    return Effective(band, rank, scope.level_rank[upper] if upper is not None else NO_LEVEL)


def rule_misses(rule: Rule, action: str, actor: Effective, target: Effective, scope: Scope) -> str | None:
    """Why a rule does not match, or None when it does."""
    if action not in rule.actions:
        return f"does not cover {action}"
    miss = party_misses(rule.actor, actor, scope)
    if miss:
        return f"actor {miss}"
    miss = party_misses(rule.target, target, scope)
    if miss:
        return f"target {miss}"
    if rule.band_distance is not None:
        return rule.band_distance.misses(abs(scope.band_rank[actor.band] - scope.band_rank[target.band]))
    return None


def evaluate(scope: Scope, action: str, actor: PartyKey, target: PartyKey) -> tuple[Outcome, list[Step]]:
    """The decision and its trace: every rule, whether it matched, and why not."""
    a = effective(actor, scope.unknown_actor, scope)
    t = effective(target, scope.unknown_target, scope)
    trace: list[Step] = []
    best: Rule | None = None
    for rule in scope.rules:
        why = rule_misses(rule, action, a, t, scope)
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
