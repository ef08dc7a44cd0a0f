"""Things an entry point can name that are not providers, each missing one part of the Protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from providers.base import Failure, Flow, Outcome, ProviderContext, Unavailability
from providers.os_signal import OsSignalProvider

NOT_CALLABLE = "providers are built by calling what the entry point names"


class NoSubmit:
    """Declares everything but cannot take evidence."""

    method_class: ClassVar[str] = "self_declaration"
    evidence_kinds: ClassVar[tuple[str, ...]] = ("birth_year",)
    flow: ClassVar[Flow] = Flow.SUBMIT

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def unavailable(self) -> Unavailability | None:
        return None


class SyncSubmit(NoSubmit):
    """Has every member, but ``submit`` is not a coroutine function: the flows await it."""

    def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        return Failure("signal_unavailable")


class Misnamed(OsSignalProvider):
    """Ignores the instance name it is given."""

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        super().__init__("always_this_name", config)


def not_a_provider_factory(name: str, config: Mapping[str, Any]) -> object:
    """A factory that returns something else entirely."""
    return {"name": name}


class OsSignalLookalike(OsSignalProvider):
    """A third-party class that registers under a built-in's name."""
