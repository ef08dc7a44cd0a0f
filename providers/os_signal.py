"""``os_signal``: an age range the app relays from the operating system.

Accepted sources, each with the fields its platform documents:

- ``google_play``: Play Age Signals ``userStatus`` with ``ageLower``/``ageUpper``;
- ``apple``: Declared Age Range ``lowerBound``/``upperBound`` with its ``ageRangeDeclaration``;
- ``ab1043``: a California AB-1043 bracket (under 13, 13–15, 16–17, 18+).

The qualifier (e.g. ``google_play.verified``) says how the OS knows; the policy maps it
to an assurance level. Nothing but the range and the qualifier leaves this adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from providers.base import Failure, Flow, Outcome, ProviderContext, Signal, Unavailability
from providers.evidence import parse_evidence
from service.core.errors import InvalidEvidence
from service.core.intervals import AgeInterval, from_range

Age = Annotated[int, Field(ge=0, le=150)]


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    method: Literal["os_signal"] | None = None


class _Ranged(_Common):
    """A source that relays an inclusive age range, either end of which may be absent."""

    @model_validator(mode="after")
    def _bounds_ordered(self) -> _Ranged:
        lo, hi = _bounds(self)
        if lo is not None and hi is not None and hi < lo:
            raise ValueError("the upper bound is below the lower bound")
        return self


class _GooglePlay(_Ranged):
    source: Literal["google_play"]
    user_status: Literal[
        "VERIFIED",
        "SUPERVISED",
        "SUPERVISED_APPROVAL_PENDING",
        "SUPERVISED_APPROVAL_DENIED",
        "DECLARED",
        "UNKNOWN",
    ]
    age_lower: Age | None = None
    age_upper: Age | None = None


class _Apple(_Ranged):
    source: Literal["apple"]
    declaration: Literal["self_declared", "guardian_declared"]
    lower_bound: Age | None = None
    upper_bound: Age | None = None


class _AB1043(_Common):
    source: Literal["ab1043"]
    bracket: Literal["under_13", "13_15", "16_17", "18_plus"]


# Dispatch on ``source`` by hand rather than through a discriminated union: error fields then
# read ``age_lower`` rather than ``evidence.google_play.age_lower``.
_SOURCES: dict[str, type[_GooglePlay | _Apple | _AB1043]] = {
    "google_play": _GooglePlay,
    "apple": _Apple,
    "ab1043": _AB1043,
}


_BRACKETS: dict[str, tuple[int, int | None]] = {
    "under_13": (0, 12),
    "13_15": (13, 15),
    "16_17": (16, 17),
    "18_plus": (18, None),
}
_PLAY_TIER = {
    "VERIFIED": "verified",
    "SUPERVISED": "supervised",
    "SUPERVISED_APPROVAL_PENDING": "supervised",
    "SUPERVISED_APPROVAL_DENIED": "supervised",
    "DECLARED": "declared",
}


def _bounds(ev: _Common) -> tuple[int | None, int | None]:
    if isinstance(ev, _GooglePlay):
        return ev.age_lower, ev.age_upper
    if isinstance(ev, _Apple):
        return ev.lower_bound, ev.upper_bound
    if isinstance(ev, _AB1043):
        return _BRACKETS[ev.bracket]
    return None, None


def _source_model(evidence: Mapping[str, Any]) -> type[_GooglePlay | _Apple | _AB1043]:
    source = evidence.get("source") if isinstance(evidence, Mapping) else None
    model = _SOURCES.get(source) if isinstance(source, str) else None
    if model is None:
        missing = not isinstance(evidence, Mapping) or "source" not in evidence
        problem = "Field required" if missing else f"Input should be one of: {', '.join(_SOURCES)}"
        raise InvalidEvidence(
            "the evidence does not fit the method's schema", errors=[{"field": "source", "problem": problem}]
        )
    return model


class OsSignalProvider:
    method_class: ClassVar[str] = "os_signal"
    evidence_kinds: ClassVar[tuple[str, ...]] = ("google_play", "apple", "ab1043")
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
        ev = parse_evidence(_source_model(evidence), evidence)
        if isinstance(ev, _GooglePlay):
            if ev.user_status == "UNKNOWN":
                return Failure("signal_unavailable")
            qualifier = f"google_play.{_PLAY_TIER[ev.user_status]}"
        elif isinstance(ev, _Apple):
            qualifier = f"apple.{ev.declaration}"
        else:
            qualifier = "ab1043.declared"
        lo, hi = _bounds(ev)
        if lo is None and hi is None:
            return Failure("signal_unavailable")
        interval: AgeInterval = from_range(lo or 0, hi)
        return Signal(interval, self.method_class, qualifier, attributes=("age_range", "source_tier"))
