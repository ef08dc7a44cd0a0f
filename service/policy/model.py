"""The policy file model. The committed JSON Schema (policies/schema) is generated from it.

Jurisdictions may ``extends`` another; every field of a jurisdiction is then optional and
inherited. A jurisdiction that extends nothing must state every field.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
    description: Localized = Field(
        default_factory=dict, description="What the user is asked for, per locale."
    )


class RecheckSpec(_Model):
    default: timedelta | None = None
    bands: dict[Name, timedelta] = Field(default_factory=dict)
    methods: dict[Name, timedelta] = Field(default_factory=dict)


class AttemptLimits(_Model):
    per_check: int = Field(default=5, ge=1, le=100)
    per_method: int = Field(default=3, ge=1, le=100)


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
    grace: timedelta | None = None
    attempts: AttemptLimits | None = None
    check_ttl: timedelta | None = Field(
        default=None, description="How long a check stays open (at most 15 minutes)."
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
    retention: timedelta | None = Field(default=None, description="How long an assurance record is kept.")
    jurisdictions: dict[JurisdictionCode, JurisdictionSpec] = Field(default_factory=dict)
