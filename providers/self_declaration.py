"""``self_declaration``: the user states a birth year or a band. The weakest method there is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from providers.base import Failure, Flow, Outcome, ProviderContext, Signal, Unavailability
from providers.evidence import parse_evidence
from service.core.intervals import AgeInterval


class _BirthYear(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    method: Literal["self_declaration"] | None = None
    birth_year: int = Field(ge=1850, le=9999)


class _Band(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    method: Literal["self_declaration"] | None = None
    band: str = Field(min_length=1, max_length=64)


class SelfDeclarationProvider:
    method_class: ClassVar[str] = "self_declaration"
    evidence_kinds: ClassVar[tuple[str, ...]] = ("birth_year", "band")
    flow: ClassVar[Flow] = Flow.SUBMIT

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        if config:
            raise ValueError(f"provider {name!r} takes no configuration")
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def unavailable(self) -> Unavailability | None:
        return None

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        if "band" in evidence:
            band = parse_evidence(_Band, evidence).band
            if band not in ctx.bands:
                return Failure("unknown_band")
            return Signal(ctx.bands.get(band).interval, self.method_class, "band", attributes=("band",))
        year = parse_evidence(_BirthYear, evidence).birth_year
        this_year = ctx.now.year
        if year > this_year:
            return Failure("implausible_age")
        age_hi = this_year - year  # birthday already passed this year
        if age_hi > 150:
            return Failure("implausible_age")
        # Without the day, the user is one of two ages.
        interval = AgeInterval(max(0, age_hi - 1), age_hi)
        return Signal(interval, self.method_class, "birth_year", attributes=("age_interval",))
