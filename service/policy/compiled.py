"""The loaded policy in the shape the flows use: resolved jurisdictions, typed lookups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from service.core.bands import BandSet
from service.core.levels import Levels
from service.policy.errors import UnknownJurisdiction
from service.policy.interactions import Rule
from service.policy.model import OnExhausted, OnInconclusive
from service.policy.tables import DecisionTables

SELF_DECLARATION = "self_declaration"  # the method class that never confirms an upper edge
DEFAULT_ADULT_AGE = 18
BAND_UPGRADE_NEEDS_LEVEL = "band_upgrade_needs_level"
# The check flow's own refusals, worded for the user; a policy's ``messages`` override them.
CHECK_MESSAGES: Mapping[str, Mapping[str, str]] = {
    BAND_UPGRADE_NEEDS_LEVEL: {
        "en": "Your age band can only move to an older one with a method that gives more certainty "
        "about your age. Your current band stays as it is.",
        "de": "Ihre Altersgruppe kann nur mit einer Methode, die Ihr Alter sicherer feststellt, zu "
        "einer älteren wechseln. Ihre bisherige Altersgruppe bleibt bestehen.",
        "fr": "Votre tranche d'âge ne peut passer à une tranche supérieure qu'avec une méthode qui établit "
        "votre âge de façon plus fiable. Votre tranche actuelle reste inchangée.",
        "es": "Su franja de edad solo puede pasar a una mayor con un método que determine su edad con más "
        "certeza. Su franja actual se mantiene.",
        "it": "La sua fascia d'età può passare a una fascia superiore solo con un metodo che accerti la sua "
        "età con maggiore sicurezza. La sua fascia attuale resta invariata.",
        "nl": "Uw leeftijdsgroep kan alleen naar een oudere groep gaan met een methode die uw leeftijd met "
        "meer zekerheid vaststelt. Uw huidige leeftijdsgroep blijft zoals die is.",
        "pl": "Zmiana grupy wiekowej na starszą jest możliwa tylko przy użyciu metody, która pewniej ustala "
        "wiek. Obecna grupa wiekowa pozostaje bez zmian.",
        "pt-BR": "Sua faixa etária só pode mudar para uma faixa mais alta com um método que confirme sua "
        "idade com mais certeza. Sua faixa atual continua a mesma.",
        "sv": "Din åldersgrupp kan bara ändras till en äldre med en metod som ger större säkerhet om din "
        "ålder. Din nuvarande åldersgrupp står kvar.",
        "fi": "Ikäryhmäsi voi vaihtua vanhempaan vain tavalla, joka varmistaa ikäsi luotettavammin. Nykyinen "
        "ikäryhmäsi pysyy ennallaan.",
    },
}


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
    # The band's upper edge ("at most 15"): who may establish it, and at which level.
    upper_level: str | None = None
    qualifier_upper_levels: Mapping[str, str] = field(default_factory=dict)
    upper_margin: float = 0.0

    def level_for(self, qualifier: str | None) -> str:
        if qualifier is None:
            return self.level
        return self.qualifier_levels.get(qualifier, self.level)

    def upper_level_for(self, qualifier: str | None) -> str | None:
        """The level at which a signal of this method bounds the age from above, or None."""
        if self.method_class == SELF_DECLARATION:
            return None  # anyone can type a child's birth year: it never confirms a minor band
        if qualifier is not None and qualifier in self.qualifier_upper_levels:
            return self.qualifier_upper_levels[qualifier]
        return self.upper_level


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
    shared_device: Limit | None = None
    sanctions: Mapping[str, SanctionRule] = field(default_factory=dict)


DETERRENCE = "deterrence"  # the obligation that brings the jurisdiction's deterrence


@dataclass(frozen=True, slots=True)
class Deterrence:
    """A jurisdiction's deterrence: the message, prevention services per country, and the flag."""

    message: Mapping[str, str]
    resources: Mapping[str, tuple[Mapping[str, str], ...]]
    repeated: Limit | None


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
    # A band moves older (other than by age-up) only on a lower edge at this level or above.
    upgrade_level: str | None = None
    deterrence: Deterrence | None = None

    def recheck_interval(self, band: str, method: str) -> timedelta:
        """The shortest interval that applies: a record is never re-checked later than any allows."""
        candidates = [self.recheck_default]
        if band in self.recheck_bands:
            candidates.append(self.recheck_bands[band])
        if method in self.recheck_methods:
            candidates.append(self.recheck_methods[method])
        return min(candidates)


@dataclass(frozen=True, slots=True)
class Depicted:
    """What everyone depicted in adult content, and its uploader, must have established."""

    required_level: str
    never_sufficient: frozenset[str]
    consent_token_age: timedelta
    retention: timedelta


CONTENT_PUBLISH = "content.publish"  # the action deciding each depicted person


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
    adult_age: int = DEFAULT_ADULT_AGE
    messages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # the policy's own
    depicted: Depicted | None = None  # None: the policy allows no content items

    def message(self, reason: str, locale: str | None) -> str | None:
        """The policy's text for one of the service's own refusals, over the built-in one."""
        texts = {**CHECK_MESSAGES.get(reason, {}), **self.messages.get(reason, {})}
        return self.text(texts, locale) if texts else None

    @property
    def locales(self) -> tuple[str, ...]:
        """The locales the policy speaks: those of ``explanation.why`` and its default."""
        return tuple(dict.fromkeys((self.default_locale, *self.explanation_why)))

    def is_minor_band(self, band: str) -> bool:
        """A band wholly below the age of majority (one that straddles it is not: it may hold
        adults; ``ageband policy lint`` warns about such a band)."""
        hi = self.bands.get(band).hi
        return hi is not None and hi < self.adult_age

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
