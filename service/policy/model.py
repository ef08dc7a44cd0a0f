"""The policy file model. The committed JSON Schema (policies/schema) is generated from it.

Jurisdictions may ``extends`` another; every field of a jurisdiction is then optional and
inherited. A jurisdiction that extends nothing must state every field.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.core.durations import Duration

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
JurisdictionCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
Localized = dict[Locale, Annotated[str, StringConstraints(min_length=1, max_length=2000)]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BandSpec(_Model):
    name: Name
    min: int = Field(ge=0, le=150, description="Youngest age in the band, in whole years.")
    max: int | None = Field(
        default=None, ge=0, le=150, description="Oldest age in the band; omit for the last band."
    )


class OnInconclusive(StrEnum):
    STEP_UP = "step_up"  # offer the next method in the waterfall
    YOUNGEST = "youngest"  # assign the youngest band the interval touches


class OnExhausted(StrEnum):
    YOUNGEST = "youngest"
    FAIL = "fail"


class MethodSpec(_Model):
    class_: Name = Field(alias="class", description="Method class the provider implements.")
    level: Name = Field(description="Assurance level a signal of this method carries.")
    buffer: float = Field(default=0.0, ge=0, le=20, description="Years added either side of an estimate.")
    sigma_k: float = Field(default=1.0, ge=0, le=5, description="Buffer is max(buffer, k·sigma).")
    max_sigma: float | None = Field(
        default=None, gt=0, le=20, description="Estimates less certain than this are rejected."
    )
    liveness: bool = Field(default=False, description="Require a liveness/anti-spoofing pass.")
    on_inconclusive: OnInconclusive | None = Field(
        default=None, description="Overrides the jurisdiction's choice for this method."
    )
    qualifier_levels: dict[Name, Name] = Field(
        default_factory=dict,
        description="Level per provider qualifier (e.g. an OS signal's source tier).",
    )
    upper_level: Name | None = Field(
        default=None,
        description="Level at which this method establishes a band's upper edge ('at most 15', what "
        "entry to children's spaces needs). Omitted: it establishes none. Never for self-declaration.",
    )
    qualifier_upper_levels: dict[Name, Name] = Field(
        default_factory=dict,
        description="Upper-edge level per provider qualifier, e.g. a supervised or guardian-declared "
        "OS account; a qualifier not listed establishes no upper edge (unless upper_level is set).",
    )
    upper_margin: float = Field(
        default=0.0,
        ge=0,
        le=20,
        description="Estimates: years added to the point estimate before it bounds the age from "
        "above. The upper edge of a band holds when floor(estimate + margin) is at most its top age.",
    )
    description: Localized = Field(
        default_factory=dict, description="What the user is asked for, per locale."
    )


class RecheckSpec(_Model):
    default: Duration | None = None
    bands: dict[Name, Duration] = Field(default_factory=dict)
    methods: dict[Name, Duration] = Field(default_factory=dict)


class AttemptLimits(_Model):
    per_check: int = Field(default=5, ge=1, le=100)
    per_method: int = Field(default=3, ge=1, le=100)


class Effect(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class PartyCondition(_Model):
    """What a rule asks of the actor or the target. Omitted conditions match anything."""

    bands: list[Name] | None = Field(
        default=None,
        min_length=1,
        description="Bands the party must be in. An unknown band is evaluated as the jurisdiction's "
        "unknown_actor / unknown_target band, with no assurance level.",
    )
    min_level: Name | None = Field(
        default=None, description="The party's assurance level must be at least this (unknown never is)."
    )
    below_level: Name | None = Field(
        default=None, description="The party's assurance level must be lower than this (unknown always is)."
    )
    min_upper_level: Name | None = Field(
        default=None,
        description="The party's band's upper edge ('at most 15') must be established at least at this "
        "level. A self-declared, unknown or adult party never matches.",
    )
    below_upper_level: Name | None = Field(
        default=None,
        description="The party's band's upper edge must be established below this level, or not at "
        "all (self-declared, unknown). With the lowest level: the band is unconfirmed.",
    )


class BandDistance(_Model):
    """How many bands apart the actor and target are (0: the same band; 1: adjacent)."""

    min: int | None = Field(default=None, ge=0, le=100, description="At least this many bands apart.")
    max: int | None = Field(default=None, ge=0, le=100, description="At most this many bands apart.")


class RuleSpec(_Model):
    """A named interaction rule: may an actor of one band do ``action`` to a target of another?

    Precedence: among the rules that match, the highest ``priority`` decides; at equal priority a
    deny beats an allow. So deny wins unless an allow rule is given a higher priority on purpose.
    """

    description: str | None = Field(default=None, max_length=2000)
    actions: list[Name] = Field(min_length=1, description="Actions (declared under 'actions') it covers.")
    actor: PartyCondition = Field(default_factory=PartyCondition)
    target: PartyCondition = Field(default_factory=PartyCondition)
    band_distance: BandDistance | None = Field(
        default=None,
        description="How far apart the actor's and target's bands are (by their order in 'bands'; an "
        "unknown band counts as unknown_actor / unknown_target), e.g. {max: 1}: same or adjacent.",
    )
    effect: Effect
    priority: int = Field(
        default=0, ge=-1000, le=1000, description="Higher wins; at equal priority deny beats allow."
    )
    reason: Name = Field(description="Stable reason code returned with the decision.")
    message: Localized = Field(description="User-facing message per locale.")
    obligations: list[Name] = Field(
        default_factory=list,
        description="What the app must do with the decision, e.g. show_safety_resources.",
    )


class SafetyResource(_Model):
    name: str = Field(min_length=1, max_length=200, description="The help service's name.")
    phone: str | None = Field(default=None, max_length=40)
    sms: str | None = Field(default=None, max_length=40)
    url: str | None = Field(default=None, max_length=500, pattern=r"^https://")
    hours: str | None = Field(default=None, max_length=200)


class ActionSpec(_Model):
    description: str | None = Field(default=None, max_length=2000)


class AbuseSignal(StrEnum):
    """What the abuse checks detect; the policy names a sanction for each."""

    RATE_LIMITED = "rate_limited"  # too many attempts per sid, device or IP in a window
    REPEATED_FAILURES = "repeated_failures"  # too many failed attempts in a window
    METHOD_SHOPPING = "method_shopping"  # many methods tried after a failure
    LIVENESS_FAILED = "liveness_failed"  # a provider saw a spoof (a circumvention failure)
    INCONSISTENT_SIGNALS = "inconsistent_signals"  # contradictory signals within one check
    YOUNGER_BAND = "younger_band"  # a re-check found a younger band than the record holds
    ADULT_CLAIMS_MINOR = "adult_claims_minor"  # a subject assured adult now claims a minor band
    SHARED_DEVICE = "shared_device"  # many distinct subjects checked from one device


class WindowLimit(_Model):
    max: int = Field(ge=1, le=100_000, description="Most events allowed within one window.")
    window: Duration = Field(description="The window, opened by the first event.")


class DeterrenceSpec(_Model):
    """What a denial carrying the ``deterrence`` obligation shows an adult reaching for a child, and
    when repeated attempts flag them. Each field inherits separately; resources merge per country."""

    message: Localized | None = Field(
        default=None, description="Shown to the actor: the refusal and where to get help, per locale."
    )
    resources: dict[JurisdictionCode, list[SafetyResource]] | None = Field(
        default=None,
        description="Prevention services per country code (confidential help for people worried about "
        "their sexual thoughts about children), 'default' for anywhere else.",
    )
    repeated: WindowLimit | None = Field(
        default=None,
        description="Denials with the deterrence obligation of one subject (given as a token) within the "
        "window; reaching max raises subject.flagged (repeated_minor_contact_attempts).",
    )


class SanctionSpec(_Model):
    lock: Duration | None = Field(default=None, description="Refuse checks and refreshes this long.")
    min_level: Name | None = Field(default=None, description="Level the next check must reach.")
    revoke_tokens: bool = Field(default=False, description="Void every outstanding token.")
    notify: bool = Field(default=True, description="Send the app a subject.flagged webhook.")
    remember: Duration = Field(
        default=timedelta(days=30), description="How long a minimum level stays in force."
    )
    message: Localized = Field(description="What this means for the user, per locale.")


class AbuseSpec(_Model):
    """Abuse limits and sanctions. Each field inherits separately; sanctions merge per signal."""

    per_sid: WindowLimit | None = Field(default=None, description="Attempts per subject.")
    per_device: WindowLimit | None = Field(default=None, description="Attempts per device (keyed hash).")
    per_ip: WindowLimit | None = Field(default=None, description="Attempts per client IP (keyed hash).")
    failures: WindowLimit | None = Field(default=None, description="Failed attempts before a cooldown.")
    method_shopping: WindowLimit | None = Field(
        default=None, description="Distinct methods tried after a failure (max) within the window."
    )
    shared_device: WindowLimit | None = Field(
        default=None,
        description="Distinct subjects checked from one device (the app's keyed device hash) within "
        "the window; more raise shared_device.",
    )
    sanctions: dict[AbuseSignal, SanctionSpec] | None = None


class JurisdictionSpec(_Model):
    extends: JurisdictionCode | None = None
    description: str | None = Field(default=None, max_length=2000)
    required_level: dict[Name, Name] | None = Field(
        default=None, description="Minimum assurance level to assign each band."
    )
    waterfall: list[Name] | None = Field(
        default=None, min_length=1, description="Methods in the order they are offered."
    )
    on_inconclusive: OnInconclusive | None = None
    on_exhausted: OnExhausted | None = None
    recheck: RecheckSpec | None = None
    grace: Duration | None = None
    attempts: AttemptLimits | None = None
    abuse: AbuseSpec | None = Field(default=None, description="Abuse limits and the sanctions they lead to.")
    check_ttl: Duration | None = Field(
        default=None, description="How long a check stays open (at most 15 minutes)."
    )
    rules: dict[Name, RuleSpec] | None = Field(
        default=None, description="Interaction rules; a rule named as an inherited one replaces it."
    )
    disable_rules: list[Name] | None = Field(
        default=None, description="Inherited rules that do not apply here."
    )
    upgrade_level: Name | None = Field(
        default=None,
        description="A record's band moves older, other than by age-up, only on evidence whose lower "
        "edge is established at this level or above, and never below the level that set the band. "
        "Self-declaration alone never moves a band older. Default: the lowest level.",
    )
    unknown_actor: Name | None = Field(
        default=None, description="Band an actor of unknown band is evaluated as (default: the oldest)."
    )
    unknown_target: Name | None = Field(
        default=None, description="Band a target of unknown band is evaluated as (default: the youngest)."
    )
    safety_resources: dict[JurisdictionCode, list[SafetyResource]] | None = Field(
        default=None, description="Help services per country code; merged over inherited ones."
    )
    deterrence: DeterrenceSpec | None = Field(
        default=None,
        description="The deterrence obligation: message and prevention resources for adults whose "
        "action towards a minor is denied, and the repeated-attempt flag.",
    )


class ServiceReason(StrEnum):
    """Denials the service makes itself, not a rule; the policy may word their messages."""

    NO_MATCHING_RULE = "no_matching_rule"  # no rule matched: the default deny
    # A party's token did not verify, or its subject was revoked.
    INVALID_TOKEN = "invalid_token"  # noqa: S105  # a reason code, not a secret
    UNKNOWN_BAND = "unknown_band"  # a token's band or level is not in this policy (an older one)
    # A check that would move a band older without evidence at the jurisdiction's upgrade level.
    BAND_UPGRADE_NEEDS_LEVEL = "band_upgrade_needs_level"


class DepictedSpec(_Model):
    """Adult content: what everyone depicted in an item, and its uploader, must have established."""

    required_level: Name = Field(
        description="The level each depicted person's and the uploader's lower edge must be assured "
        "at (highly_effective: a credential or an eID). Methods of the classes in "
        "'never_sufficient' never count, whatever their level."
    )
    never_sufficient: list[Name] = Field(
        default_factory=lambda: ["facial_estimation", "self_declaration", "os_signal"],
        description="Method classes that never establish a depicted person's age on their own "
        "(estimation alone never suffices).",
    )
    consent_token_age: Duration = Field(
        default=timedelta(minutes=2),
        description="A consent or removal request needs the person's own token issued at most this "
        "long ago (a fresh token: the person is present).",
    )
    retention: Duration = Field(
        default=timedelta(days=400), description="How long an item (its consents included) is kept."
    )


class Explanation(_Model):
    keeps: Localized = Field(description="What is kept after a check, per locale.")
    why: Localized = Field(description="Why the check is needed, per locale.")


class PolicyDocument(_Model):
    """One YAML file. Several files merge: sections other than jurisdictions appear once."""

    api_version: Literal["ageband/v1"] = Field(alias="apiVersion")
    kind: Literal["AgePolicy"]
    bands: list[BandSpec] | None = None
    levels: list[Name] | None = None
    methods: dict[Name, MethodSpec] | None = None
    explanation: Explanation | None = None
    default_locale: Locale | None = None
    retention: Duration | None = Field(default=None, description="How long an assurance record is kept.")
    adult_age: int | None = Field(
        default=None,
        ge=1,
        le=150,
        description="The age of majority (default 18): bands wholly below it are minor bands. A band "
        "should start at it (lint warns when one straddles it).",
    )
    actions: dict[Name, ActionSpec] | None = Field(
        default=None, description="The actions interaction rules may name, e.g. profile.view."
    )
    depicted: DepictedSpec | None = Field(
        default=None,
        description="Adult content: the assurance everyone depicted needs (the content.publish action "
        "decides each person as the target, the uploader as the actor). Omitted: no content items.",
    )
    messages: dict[ServiceReason, Localized] | None = Field(
        default=None,
        description="User-facing messages per locale for the refusals the service makes itself "
        "(no_matching_rule, invalid_token, unknown_band, band_upgrade_needs_level); merged over "
        "built-in English and German.",
    )
    jurisdictions: dict[JurisdictionCode, JurisdictionSpec] = Field(default_factory=dict)
