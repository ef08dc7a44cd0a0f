"""Lifecycle events for apps: queued on the store's event stream, delivered by ``ageband worker``.

Only clients with a webhook in the clients file get events. A body holds pseudonyms and codes
(sid, band, reason), never anything the user sent. The event id doubles as ``webhook-id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from service.audit.events import Audit
from service.clients.registry import ClientRegistry
from service.core.clock import Clock
from service.core.ids import new_jti
from service.store.events import EVENT_FIELD_NAMES, QueuedEvent, stored_field_names
from service.store.roles import EventStream

# How long an undelivered event (and the stream, retry and dead-letter keys) is kept.
EVENT_TTL = int(timedelta(days=7).total_seconds())

CHECK_COMPLETED = "check.completed"
RECHECK_DUE = "subject.recheck_due"
BAND_CHANGED = "subject.band_changed"
FLAGGED = "subject.flagged"
REVOKED = "subject.revoked"
RECHECK_REQUESTED = "subject.recheck_requested"
RECHECK_COMPLETED = "subject.recheck_completed"
RECHECK_MISSED = "subject.recheck_missed"
APPEAL_OPENED = "appeal.opened"
APPEAL_DECIDED = "appeal.decided"
GUARDIAN_CONFIRMED = "subject.guardian_confirmed"
CONNECTION_OPENED = "subject.connection_opened"
CONNECTION_CONFIRMED = "subject.connection_confirmed"
CONTENT_UNPUBLISHABLE = "content.unpublishable"
EVENT_TYPES = (
    CHECK_COMPLETED, RECHECK_DUE, BAND_CHANGED, FLAGGED, REVOKED, RECHECK_REQUESTED, RECHECK_COMPLETED,
    RECHECK_MISSED,
    APPEAL_OPENED, APPEAL_DECIDED, GUARDIAN_CONFIRMED, CONNECTION_OPENED, CONNECTION_CONFIRMED,
    CONTENT_UNPUBLISHABLE,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Publishing:
    """What queueing an event touches: the clients file (who has a webhook) and the stream."""

    clients: ClientRegistry
    clock: Clock
    events: EventStream
    audit: Audit


async def publish(svc: Publishing, client_id: str, event_type: str, data: dict[str, Any]) -> str | None:
    """Queue one event for the client's webhook; None when the client has no webhook."""
    if event_type not in EVENT_TYPES:
        raise ValueError("unknown event type")
    client = svc.clients.get(client_id)
    if client is None or client.webhook is None:
        return None
    event_id = "evt_" + new_jti()
    now = svc.clock.now()
    body = json.dumps(
        {"type": event_type, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    )
    event = QueuedEvent(event_id, client_id, event_type, body)
    if unlisted := sorted(stored_field_names(event.fields()) - EVENT_FIELD_NAMES):
        # The data inventory lists every stored field: list a new one in service/store/events.py.
        raise ValueError(f"event fields missing from the data inventory: {unlisted}")
    await svc.events.publish_event(event, EVENT_TTL)
    svc.audit.emit(
        "webhook.queued", client=client_id, sid=data.get("sid"), event_id=event_id, event_type=event_type
    )
    return event_id
