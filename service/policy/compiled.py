"""The loaded policy in the shape the flows use: resolved jurisdictions, typed lookups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from service.core.bands import BandSet
from service.core.errors import AgebandError
from service.core.levels import Levels
from service.policy.interactions import Rule
from service.policy.model import OnExhausted, OnInconclusive
from service.policy.tables import DecisionTables


class UnknownJurisdiction(AgebandError):
    status = 400
    code = "unknown_jurisdiction"
    title = "Unknown jurisdiction"


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    method_class: str
    level: str
    buffer: float
    sigma_k: float
    max_sigma: float | None
    liveness: bool
    on_inconclusive: OnInconclusive | None
    qualifier_levels: Mapping[str, str]
    description: Mapping[str, str]

    def level_for(self, qualifier: str | None) -> str:
        if qualifier is None:
            return self.level
        return self.qualifier_levels.get(qualifier, self.level)


@dataclass(frozen=True, slots=True)
class Limit:
    max: int
    window: timedelta


@dataclass(frozen=True, slots=True)
class SanctionRule:
    """What the policy does about one abuse signal."""

    lock: timedelta | None
    min_level: str | None
    revoke_tokens: bool
    notify: bool
    remember: timedelta
    message: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Abuse:
    """A jurisdiction's abuse limits; a missing limit is not enforced, a missing sanction only flags."""

    per_sid: Limit | None = None
    per_device: Limit | None = None
    per_ip: Limit | None = None
    failures: Limit | None = None
    method_shopping: Limit | None = None
    sanctions: Mapping[str, SanctionRule] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    code: str
    required_level: Mapping[str, str]
    waterfall: tuple[str, ...]
    on_inconclusive: OnInconclusive
    on_exhausted: OnExhausted
    recheck_default: timedelta
    recheck_bands: Mapping[str, timedelta]
    recheck_methods: Mapping[str, timedelta]
    grace: timedelta
    per_check_attempts: int
    per_method_attempts: int
    check_ttl: timedelta
    # Interaction rules (inherited ones first) and how unknown bands are evaluated.
    rules: tuple[Rule, ...] = ()
    unknown_actor: str = ""
    unknown_target: str = ""
    safety_resources: Mapping[str, tuple[Mapping[str, str], ...]] = field(default_factory=dict)
    abuse: Abuse = field(default_factory=Abuse)
    extends: str | None = None  # the jurisdiction it inherits from, as written

    def recheck_interval(self, band: str, method: str) -> timedelta:
        """The shortest interval that applies: a record is never re-checked later than any allows."""
        candidates = [self.recheck_default]
        if band in self.recheck_bands:
            candidates.append(self.recheck_bands[band])
        if method in self.recheck_methods:
            candidates.append(self.recheck_methods[method])
        return min(candidates)


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    bands: BandSet
    levels: Levels
    methods: Mapping[str, Method]
    jurisdictions: Mapping[str, Jurisdiction]
    explanation_keeps: Mapping[str, str]
    explanation_why: Mapping[str, str]
    default_locale: str
    retention: timedelta
    files: tuple[str, ...]
    actions: tuple[str, ...] = ()
    tables: DecisionTables = field(default_factory=lambda: DecisionTables({}, (), ()))

    def jurisdiction(self, code: str) -> Jurisdiction:
        try:
            return self.jurisdictions[code]
        except KeyError:
            raise UnknownJurisdiction(
                "the jurisdiction is not in the policy", known=sorted(self.jurisdictions)
            ) from None

    def text(self, texts: Mapping[str, str], locale: str | None) -> str:
        """The text for a locale, falling back to its language, then the default locale."""
        for candidate in (locale, locale.split("-")[0] if locale else None, self.default_locale):
            if candidate and candidate in texts:
                return texts[candidate]
        return next(iter(texts.values()), "")
