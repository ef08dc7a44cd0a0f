"""How apps name their users: their own reference (hashed at once into a sid) or the sid itself."""

from __future__ import annotations

from dataclasses import dataclass

from service.clients.registry import Client
from service.core.ids import derive_sid, is_sid
from service.flows.context import Services
from service.flows.errors import UnknownSubject
from service.store.records import AssuranceRecord


@dataclass(frozen=True, slots=True)
class SubjectRef:
    subject: str | None = None
    sid: str | None = None


def sid_of(svc: Services, client: Client, ref: SubjectRef) -> str | None:
    """The sid this client means, or None for a malformed sid (which names nobody)."""
    if ref.subject is not None:
        return derive_sid(svc.pepper, client.id, ref.subject)
    return ref.sid if ref.sid and is_sid(ref.sid) else None


async def own_record(svc: Services, client: Client, ref: SubjectRef) -> AssuranceRecord:
    """The caller's record for a subject. Sids are pairwise, and a record also names its
    client, so one app can never reach another app's users, even with a copied sid."""
    sid = sid_of(svc, client, ref)
    record = await svc.store.get_record(sid) if sid else None
    if record is None or record.client_id != client.id:
        raise UnknownSubject("no assurance record for this subject; run a check")
    return record


async def resolve_sid(svc: Services, client: Client, ref: SubjectRef) -> str:
    """A sid to start a check for: any subject reference, or a sid this client already has."""
    if ref.subject is not None:
        return derive_sid(svc.pepper, client.id, ref.subject)
    return (await own_record(svc, client, ref)).sid


async def erasable_sid(svc: Services, client: Client, ref: SubjectRef) -> str:
    """The sid to erase: one with a record of this client, or, for a user who never finished a
    check, one with a check of this client still in the store. Anything else names nobody."""
    try:
        return (await own_record(svc, client, ref)).sid
    except UnknownSubject:
        sid = sid_of(svc, client, ref)
        for check_id in await svc.store.subject_checks(sid) if sid else []:
            check = await svc.store.get_check(check_id)
            if check is not None and check.client_id == client.id and sid is not None:
                return sid
        raise
