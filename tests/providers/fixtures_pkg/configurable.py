"""A well-formed third-party provider with configuration that it validates when it is built."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from providers.base import Failure, Flow, Outcome, ProviderContext, Unavailability


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    region: str


class RegionalProvider:
    method_class: ClassVar[str] = "age_credential"
    evidence_kinds: ClassVar[tuple[str, ...]] = ("credential",)
    flow: ClassVar[Flow] = Flow.REDIRECT

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self.config = _Config.model_validate(dict(config))  # raises on a bad configuration
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def unavailable(self) -> Unavailability | None:
        return Unavailability("region_not_served") if self.config.region == "nowhere" else None

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        return Failure("signal_unavailable")
