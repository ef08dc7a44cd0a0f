"""What the event stream holds: webhook events waiting for delivery, and their deliveries.

An event names a client, a type and a JSON body of pseudonyms and codes only. The event id
is also the ``webhook-id`` header: it stays the same on every retry, so receivers can
de-duplicate and a redelivery after a crash has no second effect.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    event_id: str
    client_id: str
    type: str
    body: str  # the JSON payload exactly as it is signed and sent
    attempt: int = 0  # failed deliveries so far

    def fields(self) -> dict[str, str]:
        return {
            "id": self.event_id,
            "client": self.client_id,
            "type": self.type,
            "body": self.body,
            "attempt": str(self.attempt),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> QueuedEvent:
        return cls(fields["id"], fields["client"], fields["type"], fields["body"], int(fields["attempt"]))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One stream entry handed to one consumer of a group."""

    entry_id: str
    event: QueuedEvent
    redelivered: bool  # claimed back from a consumer that read it and never settled it
