"""A third-party provider that rejects evidence the careless way: it quotes the evidence.

Tests reach it through a real ``importlib.metadata.EntryPoint`` (``privacy_echo_provider:...``),
loaded by the provider registry exactly as an installed distribution's would be. The ``mode``
in the evidence picks which error it raises; every one carries the evidence in its detail,
its extras and its per-field errors (problem text and field path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from providers.base import Flow, Outcome, ProviderContext, Unavailability
from providers.errors import ImageTooLarge
from service.core.errors import InvalidEvidence


class VendorRejected(InvalidEvidence):
    """A provider's own subclass: its code is not one of ours."""

    code = "vendor_rejected"
    title = "Vendor rejected"


class EvidenceEchoProvider:
    method_class: ClassVar[str] = "os_signal"
    evidence_kinds: ClassVar[tuple[str, ...]] = ("echo",)
    flow: ClassVar[Flow] = Flow.SUBMIT

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def unavailable(self) -> Unavailability | None:
        return None

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        value = str(evidence.get("birthdate"))
        errors = [
            {"field": "birthdate", "type": "value_error", "problem": f"{value} is not a valid date"},
            {
                "field": f"extra.{value}",
                "type": "extra_forbidden",
                "problem": "Extra inputs are not permitted",
            },
            {"field": "name", "type": f"bad_{value}", "problem": f"name given as {value}"},
            {"field": "document", "problem": f"no document {value}"},  # no type at all
            f"a bare string {value}",
        ]
        extras: dict[str, Any] = {"errors": errors, "hint": value, "echo": dict(evidence)}
        mode = evidence.get("mode")
        if mode == "subclass":
            raise VendorRejected(f"vendor could not read {value}", **extras)
        if mode == "image":
            raise ImageTooLarge(f"image of {value} too large", limit=value, **extras)
        raise InvalidEvidence(f"cannot read birthdate {value} of {evidence.get('name')}", **extras)
