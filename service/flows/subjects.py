"""How apps name their users: their own reference (hashed at once into a sid) or the sid itself."""

from __future__ import annotations

from dataclasses import dataclass

from service.clients.registry import Client
from service.core.ids import derive_sid, is_sid
from service.flows.errors import UnknownSubject
from service.store.records import AssuranceRecord
from service.store.roles import CheckStore, RecordStore


@dataclass(frozen=True, slots=True)
class SubjectLookup:
    """What finding a subject touches: the pepper its sid is keyed by, its record and checks."""

    pepper: bytes
    records: RecordStore
    checks: CheckStore


@dataclass(frozen=True, slots=True)
class SubjectRef:
    subject: str | None = None
    sid: str | None = None


def sid_of(svc: SubjectLookup, client: Client, ref: SubjectRef) -> str | None:
    """The sid this client means, or None for a malformed sid (which names nobody)."""
    if ref.subject is not None:
        return derive_sid(svc.pepper, client.id, ref.subject)
    return ref.sid if ref.sid and is_sid(ref.sid) else None


async def own_record(svc: SubjectLookup, client: Client, ref: SubjectRef) -> AssuranceRecord:
    """The caller's record for a subject. Sids are pairwise, and a record also names its
    client, so one app can never reach another app's users, even with a copied sid."""
    sid = sid_of(svc, client, ref)
    return owned(await svc.records.get_record(sid) if sid else None, client)


def owned(record: AssuranceRecord | None, client: Client) -> AssuranceRecord:
    """``own_record``'s judgement of a record already read."""
    if record is None or record.client_id != client.id:
        raise UnknownSubject("no assurance record for this subject; run a check")
    return record


async def resolve_sid(svc: SubjectLookup, client: Client, ref: SubjectRef) -> str:
    """A sid to start a check for: any subject reference, or a sid this client already has."""
    if ref.subject is not None:
        return derive_sid(svc.pepper, client.id, ref.subject)
    return (await own_record(svc, client, ref)).sid


@dataclass(frozen=True, slots=True)
class Erasable:
    sid: str  # the sid the reference names
    found: bool  # a record or a check of this client was still stored
    sweep: bool  # whether the erasure may touch the sid's keys


async def erasable(svc: SubjectLookup, client: Client, ref: SubjectRef) -> Erasable | None:
    """What an erasure may sweep (None for a malformed sid, which names nobody).

    A record or a check of this client proves the sid is its own; so does a subject reference
    (its sid is keyed by this client), whose erasure sweeps again whatever an interrupted earlier
    one left. A bare sid with nothing of this client's left may be another client's: untouched.
    """
    sid = sid_of(svc, client, ref)
    if sid is None:
        return None
    record = await svc.records.get_record(sid)
    found = record is not None and record.client_id == client.id
    for check_id in [] if found else await svc.checks.subject_checks(sid):
        check = await svc.checks.get_check(check_id)
        if check is not None and check.client_id == client.id:
            found = True
            break
    return Erasable(sid, found, sweep=found or ref.subject is not None)
