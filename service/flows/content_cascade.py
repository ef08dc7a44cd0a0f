"""What reaches a person's content items when their assurance changes.

A revocation, an erasure, a sanction or a failed check of someone named in items, or their own
withdrawal or removal request, flags them in every such item (only a new consent clears the flag);
a passing check refreshes the copy of their assurance the items keep. Either way each item is
judged again, its place in the client's unpublishable list follows, and an item that stops being
publishable is sent to the app as ``content.unpublishable`` with its reason codes: the content id
and codes only, never a sid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from service.audit.events import Audit
from service.core.clock import Clock
from service.core.dates import day_of
from service.flows import events
from service.flows.content_rules import Verdict, judge
from service.flows.errors import RecordBusy
from service.policy.holder import PolicyHolder
from service.store.content import ContentItem, Performer
from service.store.records import AssuranceRecord
from service.store.roles import ContentStore

REVOKED = "revoked"
ERASED = "erased"
SANCTIONED = "sanctioned"
RECHECK_FAILED = "recheck_failed"
CONSENT_WITHDRAWN = "consent_withdrawn"
REMOVAL_REQUESTED = "removal_requested"

_ATTEMPTS = 8
Edit = Callable[[ContentItem], bool]  # changes the item in place; False: nothing to change


@dataclass(frozen=True, slots=True)
class ContentCascade:
    """What judging and changing items touches: the items, the policy, the app's notices."""

    policy: PolicyHolder
    clock: Clock
    pepper: bytes
    audit: Audit
    content: ContentStore
    publishing: events.Publishing


@dataclass(frozen=True, slots=True)
class Changed:
    item: ContentItem
    before: Verdict | None  # None: the policy allows no content any more
    after: Verdict | None


def verdict(svc: ContentCascade, item: ContentItem) -> Verdict | None:
    policy = svc.policy.current
    if policy.depicted is None:
        return None
    return judge(policy, policy.depicted, item, day_of(svc.clock.now()), svc.pepper)


def reason_codes(v: Verdict | None) -> list[str]:
    if v is None:
        return ["content_not_enabled"]
    return sorted({r for p in v.people for r in p.reasons})


async def change(
    svc: ContentCascade, content_id: str, edit: Edit, *, client_id: str | None = None
) -> Changed | None:
    """Apply ``edit`` by compare-and-set (read again and redo on a lost race), list the item where
    its new verdict puts it, and tell the app when it stops being publishable. None when the item
    is gone, is another client's, or the edit changed nothing."""
    today = day_of(svc.clock.now())
    for _ in range(_ATTEMPTS):
        item = await svc.content.get_item(content_id)
        if item is None or (client_id is not None and item.client_id != client_id):
            return None
        before = verdict(svc, item)
        if not edit(item):
            return None
        after = verdict(svc, item)
        item.listed = listed_day(after, item.listed, today)
        if await svc.content.update_item(item):
            break
    else:
        raise RecordBusy("the content item kept changing under concurrent requests; try again")
    await place(svc, item)
    if before is not None and before.publishable and (after is None or not after.publishable):
        await unpublishable(svc, item, after)
    return Changed(item, before, after)


def listed_day(v: Verdict | None, listed: date | None, today: date) -> date:
    """An item's day in the unpublishable list: for a publishable item the day it lapses (ahead,
    so it is not listed yet); for one that is not, the day it stopped being publishable."""
    if v is not None and v.publishable and v.lapses is not None:
        return v.lapses
    return listed if listed is not None and listed <= today else today


def retention_seconds(svc: ContentCascade) -> int:
    policy = svc.policy.current
    return int((policy.depicted.retention if policy.depicted else policy.retention).total_seconds())


async def place(svc: ContentCascade, item: ContentItem) -> None:
    await svc.content.list_item(item.client_id, item.content_id, item.listed, retention_seconds(svc))


async def unpublishable(svc: ContentCascade, item: ContentItem, v: Verdict | None) -> None:
    reasons = reason_codes(v)
    svc.audit.emit(
        "content.unpublishable", client=item.client_id, content_id=item.content_id, reasons=reasons,
        pol=svc.policy.current.version,
    )  # fmt: skip
    data = {"content_id": item.content_id, "reasons": reasons}
    await events.publish(svc.publishing, item.client_id, events.CONTENT_UNPUBLISHABLE, data)


async def flag_subject(svc: ContentCascade, client_id: str, sid: str, flag: str) -> int:
    """Flag ``sid`` in every item of this client naming it; returns how many items changed.
    An erasure also takes the sid out of the items and drops its index."""

    def edit(item: ContentItem) -> bool:
        changed = False
        for i, person in enumerate(item.people):
            if person.sid != sid:
                continue
            if flag == ERASED:
                item.people[i] = Performer(sid="", role=person.role, flag=ERASED)
                changed = True
            elif person.flag is None:  # the first cause stays: it is what took the item down
                item.people[i] = replace(
                    person, flag=flag, consent=None if flag == CONSENT_WITHDRAWN else person.consent
                )
                changed = True
        return changed

    count = 0
    for content_id in await svc.content.items_naming(sid):
        if await change(svc, content_id, edit, client_id=client_id) is not None:
            count += 1
    if flag == ERASED:
        await svc.content.forget_subject(sid)
    return count


def copy_assurance(person: Performer, record: AssuranceRecord) -> Performer:
    return replace(
        person, band=record.band, level=record.level, method=record.method, assured_at=record.assured_at,
        recheck_at=record.recheck_at, lower_age=record.lower_age,
    )  # fmt: skip


async def sync_subject(svc: ContentCascade, record: AssuranceRecord) -> int:
    """A passing check: every item of the client naming the sid keeps the new assurance (its
    flags stay: only a new consent clears them). Returns how many items changed."""

    def edit(item: ContentItem) -> bool:
        changed = False
        for i, person in enumerate(item.people):
            if person.sid == record.sid and (fresh := copy_assurance(person, record)) != person:
                item.people[i] = fresh
                changed = True
        return changed

    count = 0
    for content_id in await svc.content.items_naming(record.sid):
        if await change(svc, content_id, edit, client_id=record.client_id) is not None:
            count += 1
    return count
