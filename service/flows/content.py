"""Adult content: items, each depicted person's consent, publishability, withdrawal and removal.

An app registers an item by its own content reference (kept only as a keyed hash, per client: the
content id), the media's hash (kept as a keyed hash, bound into every consent), the recording month
and the sids of the depicted persons and the uploader, each a subject the app already has. Each
depicted person consents with their own fresh token; the consent is kept as a keyed hash of item,
person and media, with no identity. ``status`` judges the item from its one stored key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, replace
from datetime import date

from service.audit.events import Audit
from service.clients.registry import Client
from service.core.clock import Clock
from service.core.dates import day_of
from service.core.errors import AgebandError
from service.core.ids import keyed_hash
from service.core.recording import parse_month
from service.flows import content_cascade as cascade
from service.flows.content_cascade import ContentCascade, copy_assurance
from service.flows.content_rules import DEPICTED, UPLOADER, Verdict, consent_hash
from service.flows.errors import (
    ConsentTokenStale,
    ConsentTokenUsed,
    ContentExists,
    ContentHashMismatch,
    ContentNotEnabled,
    InvalidConsentToken,
    InvalidRecordingMonth,
    JurisdictionNotAllowed,
    NotDepicted,
    UnknownContent,
    UnknownPerformer,
)
from service.policy.compiled import Depicted, Policy
from service.store.content import ContentItem, ListedPage, Performer
from service.store.records import AssuranceRecord
from service.store.roles import ContentStore, RecordStore, RevocationStore, SingleUse
from service.tokens.claims import TokenClaims
from service.tokens.verifier import TokenVerifier

_CONTENT_ID_RE = re.compile(r"^cnt_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True, slots=True)
class ContentFlow:
    """What the content use cases touch: the items (through the cascade, which judges and lists
    them), the people's records, revocation markers and tokens, and single-use markers."""

    clock: Clock
    pepper: bytes
    audit: Audit
    verifier: TokenVerifier
    records: RecordStore
    revocations: RevocationStore
    once: SingleUse
    content: ContentStore
    cascade: ContentCascade


@dataclass(frozen=True, slots=True)
class ContentStatus:
    item: ContentItem
    verdict: Verdict
    policy_version: str


def content_id_of(pepper: bytes, client_id: str, reference: str) -> str:
    """The item's id: a keyed hash of the app's reference, per client (pairwise, like a sid)."""
    key = hmac.new(pepper, b"ageband content id", hashlib.sha256).digest()
    return "cnt_" + keyed_hash(key, f"{client_id}\x00{reference}")


def media_hash_of(pepper: bytes, content_id: str, content_hash: str) -> str:
    key = hmac.new(pepper, b"ageband content media", hashlib.sha256).digest()
    return keyed_hash(key, f"{content_id}\x00{content_hash}")


def _depicted(policy: Policy) -> Depicted:
    if policy.depicted is None:
        raise ContentNotEnabled("the policy has no 'depicted' section: it allows no content items")
    return policy.depicted


async def register(
    svc: ContentFlow,
    client: Client,
    *,
    reference: str,
    content_hash: str,
    recorded: str,
    depicted: list[str],
    uploader: str,
    jurisdiction: str,
) -> ContentStatus:
    policy = svc.cascade.policy.current
    _depicted(policy)
    if not client.allows(jurisdiction):
        raise JurisdictionNotAllowed("the client may not register content in this jurisdiction")
    policy.jurisdiction(jurisdiction)  # unknown_jurisdiction
    now = svc.clock.now()
    try:
        month = parse_month(recorded)
    except ValueError:
        raise InvalidRecordingMonth("recorded must be a month, YYYY-MM") from None
    if month > day_of(now):
        raise InvalidRecordingMonth("the recording month is in the future")
    people = [Performer(sid=sid, role=DEPICTED) for sid in depicted]
    if uploader not in depicted:
        people.append(Performer(sid=uploader, role=UPLOADER))
    for index, person in enumerate(people):
        record = await _own_record(svc, client, person.sid)
        if record is None:
            raise UnknownPerformer(
                "no assurance record for this person; run a check", index=index, role=person.role
            )
        people[index] = copy_assurance(person, record)
    content_id = content_id_of(svc.pepper, client.id, reference)
    item = ContentItem(
        content_id=content_id,
        client_id=client.id,
        jurisdiction=jurisdiction,
        content_hash=media_hash_of(svc.pepper, content_id, content_hash),
        recorded=recorded,
        created_at=int(now.timestamp()),
        people=people,
    )
    v = cascade.verdict(svc.cascade, item)
    assert v is not None  # noqa: S101 - _depicted above
    item.listed = cascade.listed_day(v, None, day_of(now))
    if not await svc.content.create_item(item, cascade.retention_seconds(svc.cascade)):
        raise ContentExists("an item with this reference is already registered", content_id=content_id)
    await cascade.place(svc.cascade, item)
    svc.audit.emit(
        "content.registered", client=client.id, content_id=content_id, people=len(people),
        pol=policy.version, jur=jurisdiction,
    )  # fmt: skip
    return ContentStatus(item, v, policy.version)


async def status(svc: ContentFlow, client: Client, content_id: str) -> ContentStatus:
    """Publishability from the item's one key: everything it needs is in it."""
    policy = svc.cascade.policy.current
    _depicted(policy)
    item = await svc.content.get_item(content_id) if _CONTENT_ID_RE.fullmatch(content_id) else None
    if item is None or item.client_id != client.id:
        raise UnknownContent("no such content item")
    v = cascade.verdict(svc.cascade, item)
    assert v is not None  # noqa: S101 - _depicted above
    return ContentStatus(item, v, policy.version)


async def consent(
    svc: ContentFlow, client: Client, content_id: str, *, token: str, content_hash: str
) -> ContentStatus:
    """A depicted person consents with their own fresh token, to this media hash."""
    item, sid, claims = await _person(svc, client, content_id, token)
    if not hmac.compare_digest(item.content_hash, media_hash_of(svc.pepper, content_id, content_hash)):
        raise ContentHashMismatch("the content hash is not the item's: the consent names other media")
    await _spend(svc, claims)
    record = await _own_record(svc, client, sid)
    if record is None:
        raise InvalidConsentToken("the person has no assurance record any more")
    now = int(svc.clock.now().timestamp())
    given = consent_hash(svc.pepper, content_id, sid, item.content_hash)

    def edit(it: ContentItem) -> bool:
        for i, person in enumerate(it.people):
            if person.sid == sid:
                fresh = copy_assurance(person, record)
                it.people[i] = replace(fresh, flag=None, consent=given if person.role == DEPICTED else None)
                if person.role == DEPICTED:
                    it.people[i].consented_at = now
        return True

    changed = await cascade.change(svc.cascade, content_id, edit, client_id=client.id)
    if changed is None:
        raise UnknownContent("no such content item")
    _audit_person(svc, changed.item, sid, "content.consented")
    return await status(svc, client, content_id)


async def withdraw(svc: ContentFlow, client: Client, content_id: str, *, token: str) -> ContentStatus:
    """A depicted person withdraws their consent: the item is no longer publishable."""
    return await _flag(svc, client, content_id, token, cascade.CONSENT_WITHDRAWN, "content.consent_withdrawn")


async def request_removal(svc: ContentFlow, client: Client, content_id: str, *, token: str) -> ContentStatus:
    """A depicted person demands removal (AN 5196): unpublishable at once, audited, and the app
    is told by webhook even if the item was not publishable yet."""
    return await _flag(svc, client, content_id, token, cascade.REMOVAL_REQUESTED, "content.removal_requested")


async def unpublishable(svc: ContentFlow, client: Client, cursor: str | None, limit: int) -> ListedPage:
    _depicted(svc.cascade.policy.current)
    today = day_of(svc.clock.now())
    return await svc.content.unpublishable(client.id, date.fromordinal(today.toordinal() + 1), cursor, limit)


async def _flag(
    svc: ContentFlow, client: Client, content_id: str, token: str, flag: str, event: str
) -> ContentStatus:
    _, sid, claims = await _person(svc, client, content_id, token)
    await _spend(svc, claims)

    def edit(it: ContentItem) -> bool:
        for i, person in enumerate(it.people):
            if person.sid == sid and person.role == DEPICTED:
                it.people[i] = replace(person, flag=flag, consent=None)
        return True

    changed = await cascade.change(svc.cascade, content_id, edit, client_id=client.id)
    if changed is None:
        raise UnknownContent("no such content item")
    _audit_person(svc, changed.item, sid, event)
    was_publishable = changed.before is not None and changed.before.publishable
    if flag == cascade.REMOVAL_REQUESTED and not was_publishable:
        await cascade.unpublishable(svc.cascade, changed.item, changed.after)
    return await status(svc, client, content_id)


async def _person(
    svc: ContentFlow, client: Client, content_id: str, token: str
) -> tuple[ContentItem, str, TokenClaims]:
    """The item and the depicted person whose own fresh, live token this is."""
    policy = svc.cascade.policy.current
    depicted = _depicted(policy)
    item = await svc.content.get_item(content_id) if _CONTENT_ID_RE.fullmatch(content_id) else None
    if item is None or item.client_id != client.id:
        raise UnknownContent("no such content item")
    try:
        claims = svc.verifier.verify(token, audience=client.id)
    except AgebandError:
        svc.audit.emit(
            "token.rejected", client=client.id, reason="invalid", kind="depicted", content_id=content_id
        )
        raise InvalidConsentToken("the person's token is not valid") from None
    now = svc.clock.now().timestamp()
    if now - claims.iat > depicted.consent_token_age.total_seconds():
        raise ConsentTokenStale(
            "the token is older than the policy allows: refresh it and try again",
            max_age_seconds=int(depicted.consent_token_age.total_seconds()),
        )
    marker = await svc.revocations.revoked_at(claims.sub)
    record = await _own_record(svc, client, claims.sub)
    if (
        (marker is not None and claims.iat <= marker)
        or record is None
        or record.generation != record.passed_generation
    ):
        raise InvalidConsentToken("the person's token is not valid")
    if not any(p.sid == claims.sub and p.role == DEPICTED for p in item.people):
        raise NotDepicted("the token's subject is not depicted in this item")
    return item, claims.sub, claims


async def _spend(svc: ContentFlow, claims: TokenClaims) -> None:
    """One token, one consent or removal: a replayed request is refused."""
    ttl = max(1, claims.exp - claims.iat + 60)
    if not await svc.once.use_once(f"content|{claims.jti}", ttl):
        raise ConsentTokenUsed("this token was already used; refresh it for another request")


async def _own_record(svc: ContentFlow, client: Client, sid: str) -> AssuranceRecord | None:
    record = await svc.records.get_record(sid)
    return record if record is not None and record.client_id == client.id else None


def _audit_person(svc: ContentFlow, item: ContentItem, sid: str, event: str) -> None:
    # The person appears as their place in the item, never as their sid.
    index = next((i for i, p in enumerate(item.people) if p.sid == sid), -1)
    svc.audit.emit(event, client=item.client_id, content_id=item.content_id, person=index, role=DEPICTED)
