"""Bands that hold both ways: what a passing check may do to a band that is already on record.

A band has two edges. Its lower edge ("at least 13") is what adult access needs, its upper edge
("at most 15") what entry to children's spaces needs; each is established at a level, or not at
all. A record's band moves:

- **older** only by time (its lower edge ages: after ``t`` years it grows by ``⌊t⌋``), or by a
  check whose evidence proves the older band's lower edge at the jurisdiction's ``upgrade_level``
  and at least the level that set the current band. Self-declaration alone never does: a child
  typing an adult's birth year stays a child. A weaker result is refused with
  ``band_upgrade_needs_level`` and the methods that would do.
- **younger** at once, whatever the evidence: anyone who claims a minor band is protected as one.
  But a subject once assured adult who now claims a minor band is the grooming pattern: the claim
  earns no confirmed upper edge unless its evidence is at least as strong as what made them an
  adult (and the sanction's minimum level), and ``adult_claims_minor`` is raised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from service.policy.compiled import SELF_DECLARATION, Jurisdiction, Policy
from service.policy.model import AbuseSignal
from service.store.records import AssuranceRecord, SignalNote

DAYS_PER_YEAR = 365.2425


def upper_level(policy: Policy, signals: Sequence[SignalNote], band: str) -> str | None:
    """The highest level among the signals that bound the age at or below the band's top age;
    None when none does (self-declaration never does), and always for the top band."""
    top = policy.bands.get(band).hi
    if top is None:
        return None
    proving = [
        n.upper_level
        for n in signals
        if n.upper_level is not None and n.at_most is not None and n.at_most <= top
    ]
    return policy.levels.highest(proving) if proving else None


def aged_band(policy: Policy, record: AssuranceRecord, today: date) -> str:
    """The oldest band the record's lower edge reaches by time alone: ``lo`` grows by ``⌊t⌋``."""
    years = max(0, (today - record.assured_at).days) / DAYS_PER_YEAR
    return policy.bands.for_age(policy.bands.get(record.band).lo + math.floor(years)).name


@dataclass(frozen=True, slots=True)
class Move:
    """What a passing check may do to the record it replaces."""

    upgrade_refused: bool = False  # older than time allows, without the evidence to prove it
    needs: str | None = None  # the level the older band's lower edge must reach
    adult_claims_minor: bool = False  # assured adult, now claiming a minor band
    upper_floor: str | None = None  # the level a claimed minor band's upper edge must reach


def judge(
    policy: Policy,
    juris: Jurisdiction,
    previous: AssuranceRecord | None,
    signals: Sequence[SignalNote],
    band: str,
    today: date,
) -> Move:
    """Compare the band a check resolved with the record on file (same client)."""
    bands, levels = policy.bands, policy.levels
    if previous is None or previous.band not in bands:
        return Move()
    new, old = bands.get(band), bands.get(previous.band)
    if new.lo > old.lo:
        if new.lo <= bands.get(aged_band(policy, previous, today)).lo:
            return Move()  # time alone explains it: the record has aged into this band
        floor = [juris.upgrade_level or levels.names[0]]
        if previous.level in levels:
            floor.append(previous.level)
        needs = levels.highest(floor)
        proof = [
            n.level
            for n in signals
            if n.method_class != SELF_DECLARATION and n.lo >= new.lo and n.level in levels
        ]
        if proof and levels.at_least(levels.highest(proof), needs):
            return Move()
        return Move(upgrade_refused=True, needs=needs)
    if new.lo < old.lo and not policy.is_minor_band(previous.band) and policy.is_minor_band(band):
        rule = juris.abuse.sanctions.get(AbuseSignal.ADULT_CLAIMS_MINOR.value)
        floor = [previous.level] if previous.level in levels else []
        if rule is not None and rule.min_level in levels:
            floor.append(rule.min_level)  # type: ignore[arg-type]  # checked just above
        return Move(adult_claims_minor=True, upper_floor=levels.highest(floor) if floor else None)
    return Move()


def confirmed_upper(policy: Policy, upper: str | None, move: Move) -> str | None:
    """The upper edge a record keeps: none below the floor an adult's claim must reach."""
    if upper is None or move.upper_floor is None:
        return upper
    return upper if policy.levels.at_least(upper, move.upper_floor) else None
