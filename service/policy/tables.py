"""Decision tables compiled at load time: a decision is two dict lookups.

``cells[jurisdiction][action][actor][target]`` holds the shared :class:`Outcome` for every
(band | unknown, level | unstated, upper level | unstated) pair of actor and target. A batch
takes the inner dict for its actor once and then does one ``get`` per target.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from service.policy.errors import NoDecisionTable, UnknownAction, UnknownParty
from service.policy.interactions import (
    INVALID_TOKEN_REASON,
    UNKNOWN_BAND_REASON,
    Outcome,
    PartyKey,
    service_outcomes,
)

ActorTable = Mapping[PartyKey, Outcome]


@dataclass(frozen=True, slots=True)
class CompactTable:
    """One jurisdiction's table by party class: the rules cannot tell apart the parties of a
    class, so ``grid[action][actor_class[i]][target_class[j]]`` is the outcome for actor
    ``party_keys[i]`` and target ``party_keys[j]``. The bundle ships this form."""

    actor_class: tuple[int, ...]
    target_class: tuple[int, ...]
    grids: Mapping[str, tuple[tuple[Outcome, ...], ...]]


@dataclass(frozen=True, slots=True)
class DecisionTables:
    cells: Mapping[str, Mapping[str, Mapping[PartyKey, ActorTable]]]
    party_keys: tuple[PartyKey, ...]
    actions: tuple[str, ...]
    # The service's own denials (no_matching_rule, invalid_token, unknown_band), with the policy's texts.
    service: Mapping[str, Outcome] = field(default_factory=lambda: service_outcomes({}))
    compact: Mapping[str, CompactTable] = field(default_factory=dict)
    # The oldest band, unbounded above: it has no upper edge, so its parties have none.
    top_band: str | None = None

    def normalize(self, key: PartyKey) -> PartyKey:
        """Levels mean nothing without a band, and an upper edge nothing for the top band."""
        band, level, upper = key
        if band is None:
            return key if level is None and upper is None else UNKNOWN_PARTY
        if upper is not None and band == self.top_band:
            return (band, level, None)
        return key

    def knows(self, key: PartyKey) -> bool:
        """Whether a (band, level, upper_level) is one of this policy's (a token's may be of an
        older one)."""
        return self.normalize(key) in self.party_keys

    @property
    def invalid_token(self) -> Outcome:
        return self.service[INVALID_TOKEN_REASON]

    @property
    def unknown_band(self) -> Outcome:
        return self.service[UNKNOWN_BAND_REASON]

    def for_actor(self, jurisdiction: str, action: str, actor: PartyKey) -> ActorTable:
        try:
            by_action = self.cells[jurisdiction]
        except KeyError:
            raise NoDecisionTable("the jurisdiction is not in the policy", known=sorted(self.cells)) from None
        try:
            by_actor = by_action[action]
        except KeyError:
            raise UnknownAction("the action is not in the policy", known=list(self.actions)) from None
        try:
            return by_actor[self.normalize(actor)]
        except KeyError:
            raise UnknownParty("the actor's band or level is not in the policy") from None

    def decide(self, jurisdiction: str, action: str, actor: PartyKey, target: PartyKey) -> Outcome:
        table = self.for_actor(jurisdiction, action, actor)
        try:
            return table[self.normalize(target)]
        except KeyError:
            raise UnknownParty("the target's band or level is not in the policy") from None

    def __iter__(self) -> Iterator[tuple[str, str, PartyKey, PartyKey, Outcome]]:
        for jur, by_action in self.cells.items():
            for action, by_actor in by_action.items():
                for actor, row in by_actor.items():
                    for target, outcome in row.items():
                        yield jur, action, actor, target, outcome


UNKNOWN_PARTY: PartyKey = (None, None, None)
