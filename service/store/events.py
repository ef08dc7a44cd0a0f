"""What the event stream holds: webhook events waiting for delivery, and their deliveries.

An event names a client, a type and a JSON body of pseudonyms and codes only. The event id
is also the ``webhook-id`` header: it stays the same on every retry, so receivers can
de-duplicate and a redelivery after a crash has no second effect.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


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


def names_sid(event: QueuedEvent, sid: str) -> bool:
    """Whether the event's data names this subject (what erasure removes)."""
    try:
        body = json.loads(event.body)
    except ValueError:
        return False
    data = body.get("data") if isinstance(body, dict) else None
    return isinstance(data, dict) and data.get("sid") == sid


@dataclass(frozen=True, slots=True)
class Delivery:
    """One stream entry handed to one consumer of a group."""

    entry_id: str
    event: QueuedEvent
    redelivered: bool  # claimed back from a consumer that read it and never settled it


@dataclass(frozen=True, slots=True)
class EventField:
    """One field of a queued event, for the data inventory (``body.`` fields are in its JSON)."""

    name: str
    type: str  # "day" and "timestamp" mark dates the service writes itself
    purpose: str
    personal: bool = False


# Every field a stream entry, a retry member or a dead letter may hold. ``publish`` refuses an
# event whose body has any other field, so the inventory cannot fall behind the code.
EVENT_FIELDS: tuple[EventField, ...] = (
    EventField("id", "string", "event id, also the webhook-id: receivers de-duplicate by it"),
    EventField("client", "string", "the app the event is for (a configured client id)"),
    EventField("type", "string", "event type, e.g. check.completed"),
    EventField("attempt", "integer", "failed deliveries so far"),
    EventField("body", "json", "the payload exactly as signed and sent", personal=True),
    EventField("body.type", "string", "event type (repeated inside the signed payload)"),
    EventField("body.timestamp", "timestamp", "when the event was queued"),
    EventField("body.data", "object", "the event's facts", personal=True),
    EventField("body.data.sid", "string", "the subject's pairwise pseudonym, as the app knows it", True),
    EventField("body.data.check_id", "string", "the check that completed", True),
    EventField("body.data.outcome", "string", "passed or failed", True),
    EventField("body.data.band", "string", "the age band after the check or age-up", True),
    EventField("body.data.level", "string", "how well the band's lower edge is established", True),
    EventField(
        "body.data.upper_level", "string", "how well its upper edge is established (null: not at all)", True
    ),
    EventField("body.data.reason", "string", "a reason code (failure, revocation or abuse signal)", True),
    EventField("body.data.recheck_at", "day", "the day the re-check is due", True),
    EventField("body.data.grace_ends", "day", "the last day of the re-check's grace period", True),
    EventField("body.data.sanction", "object", "what an abuse signal brought on", True),
    EventField("body.data.sanction.locked_until", "timestamp", "no checks or refreshes before then", True),
    EventField("body.data.sanction.min_level", "string", "the level the next check must reach", True),
    EventField("body.data.sanction.tokens_revoked", "boolean", "whether tokens were revoked", True),
    EventField("body.data.min_level", "string", "the level a requested re-check must establish", True),
    EventField("body.data.deadline", "timestamp", "when a re-check or appeal must be done", True),
    EventField("body.data.band_from", "string", "the band an appeal contested", True),
    EventField("body.data.content_id", "string", "an item of adult content that stopped being publishable"),
    EventField("body.data.reasons", "list of string", "why it is not publishable (codes; no person named)"),
)
EVENT_FIELD_NAMES = frozenset(f.name for f in EVENT_FIELDS)


def field_names(value: Any, prefix: str = "") -> Iterator[str]:
    """Dotted names of every field in a JSON object, nested objects included."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{prefix}{k}"
            yield from field_names(v, f"{prefix}{k}.")


def stored_field_names(fields: dict[str, str]) -> set[str]:
    """What a stream entry (or a retry or dead-letter member) holds, its JSON body included."""
    names = set(fields)
    try:
        body = json.loads(fields.get("body", ""))
    except ValueError:
        return names  # not JSON: the body is one opaque field
    return names | set(field_names(body, "body."))
