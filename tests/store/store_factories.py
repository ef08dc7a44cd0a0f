"""Checks and records for the store tests, with real pseudonyms (sids, check ids)."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from service.core.ids import derive_sid, new_check_id
from service.store.content import ContentItem, Performer
from service.store.events import QueuedEvent
from service.store.records import AssuranceRecord, CheckState, CheckStatus, Sanction, SignalNote
from service.store.reviews import Appeal, RecheckRequest

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PEPPER = b"store-tests-pepper-0123456789abcdef"
CLIENT = "acme-app"
OTHER_CLIENT = "other-app"
# A subject_ref as an app might send it: it must never appear in a key name.
SUBJECT_REF = "alice.example+canary@example.com"


def sid_for(subject_ref: str, client_id: str = CLIENT) -> str:
    return derive_sid(PEPPER, client_id, subject_ref)


def random_sid(client_id: str = CLIENT) -> str:
    return sid_for(secrets.token_hex(8), client_id)


def make_check(now: datetime, **changes: object) -> CheckState:
    expires = now + timedelta(minutes=15)
    check = CheckState(
        check_id=new_check_id(expires),
        client_id=CLIENT,
        sid=sid_for(SUBJECT_REF),
        jurisdiction="GB",
        purpose="signup",
        policy_version="pol-3f2a",
        created_at=int(now.timestamp()),
        expires_at=int(expires.timestamp()),
        status=CheckStatus.PENDING,
        methods_tried=["facial_estimation"],
        interval_lo=16,
        interval_hi=21,
        signals=[SignalNote("effective", 16, 21)],
    )
    for name, value in changes.items():
        setattr(check, name, value)
    return check


def make_record(
    sid: str | None = None,
    recheck_at: date = date(2026, 6, 1),
    client_id: str = CLIENT,
    **changes: object,
) -> AssuranceRecord:
    record = AssuranceRecord(
        sid=sid or random_sid(client_id),
        client_id=client_id,
        band="16_17",
        level="effective",
        method="facial_estimation",
        jurisdiction="GB",
        assured_at=date(2026, 3, 1),
        recheck_at=recheck_at,
        age_up_at=date(2027, 2, 1),
        policy_version="pol-3f2a",
    )
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def make_sanction(sid: str, **changes: object) -> Sanction:
    at = int(NOW.timestamp())
    sanction = Sanction(
        sid=sid,
        client_id=CLIENT,
        signal="liveness_failed",
        imposed_at=at,
        locked_until=at + 3600,
        min_level="highly_effective",
        until=at + 86_400,
    )
    for name, value in changes.items():
        setattr(sanction, name, value)
    return sanction


def make_event(client_id: str = CLIENT, type_: str = "subject.flagged") -> QueuedEvent:
    event_id = "evt_" + secrets.token_hex(12)
    body = f'{{"type":"{type_}","data":{{"sid":"{random_sid(client_id)}"}}}}'
    return QueuedEvent(event_id, client_id, type_, body)


def make_recheck(sid: str, **changes: object) -> RecheckRequest:
    at = int(NOW.timestamp())
    request = RecheckRequest(
        sid=sid,
        client_id=CLIENT,
        reason="moderator_request",
        min_level="effective",
        requested_at=at,
        deadline=at + 7 * 86_400,
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def make_appeal(sid: str, **changes: object) -> Appeal:
    at = int(NOW.timestamp())
    appeal = Appeal(
        sid=sid,
        client_id=CLIENT,
        check_id="chk_appeal",
        band="13_15",
        level="basic",
        opened_at=at,
        deadline=at + 14 * 86_400,
    )
    return replace(appeal, **changes)  # type: ignore[arg-type]


def make_item(*sids: str, client_id: str = CLIENT, **changes: object) -> ContentItem:
    """An item of adult content naming ``sids`` (the first is also the uploader)."""
    people = [Performer(sid=s, role="depicted") for s in sids]
    item = ContentItem(
        content_id="cnt_" + secrets.token_urlsafe(32)[:43].ljust(43, "A"),
        client_id=client_id,
        jurisdiction="default",
        content_hash="h" * 43,
        recorded="2025-06",
        created_at=int(NOW.timestamp()),
        people=people,
    )
    return dataclasses.replace(item, **changes)  # type: ignore[arg-type]
