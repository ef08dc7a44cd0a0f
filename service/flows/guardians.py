"""Guardian confirmation: a guardian confirms a child's band with a one-time code.

The app shows the child a code (``issue_code``); a guardian of the same app, whose own record is
an adult band at or above the policy's ``guardian.min_level``, enters it (``confirm``). The
child's band then counts as confirmed from above at the policy's ``guardian_confirmed`` level
(never above the guardian's own): its upper edge ("at most 12") is what children's spaces need.
While the link holds, a later passing check of the child that finds the same band keeps it
(``held_level``): the check's own evidence may confirm less, the guardian's word still stands.

What is stored: the code only as a keyed hash (its key name), for the code's short TTL and
removed when used; and the link as a keyed hash of both sids, TTL = retention, indexed under
each sid so that erasing either side removes it. Who the guardian is is never stored, logged or
sent: the audit trail and the webhook name the child only. The links of one guardian are
counted, so no adult can confirm more children than the policy's ``max_children``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from service.audit.events import Audit
from service.clients.registry import Client
from service.core.clock import Clock
from service.core.ids import keyed_hash
from service.flows import events
from service.flows.errors import (
    GuardianCodeInvalid,
    GuardianLimitReached,
    GuardianNotAvailable,
    GuardianNotEligible,
)
from service.flows.records import RecordWriting, write_record
from service.flows.subjects import SubjectLookup, SubjectRef, own_record
from service.policy.compiled import GuardianRules, Policy
from service.policy.holder import PolicyHolder
from service.store.records import AssuranceRecord
from service.store.reviews import GuardianCode, GuardianLink
from service.store.roles import GuardianStore

# No 0/O, 1/I/L: read aloud or typed by a parent without mix-ups. 10 characters: ~49 bits.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


@dataclass(frozen=True, slots=True)
class Guardians:
    """What guardian confirmation touches: both records, the code and link keys (keyed by the
    pepper), the child's record write, and the app's webhook."""

    policy: PolicyHolder
    clock: Clock
    pepper: bytes
    audit: Audit
    subjects: SubjectLookup
    guardians: GuardianStore
    writing: RecordWriting
    publishing: events.Publishing


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Confirmed:
    sid: str  # the child's
    band: str
    upper_level: str


def normalize(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


def _code_ref(svc: Guardians, client_id: str, code: str) -> str:
    return "gcd_" + keyed_hash(svc.pepper, f"guardian-code\x00{client_id}\x00{normalize(code)}")


def _link(svc: Guardians, child: str, guardian: str) -> str:
    return "lnk_" + keyed_hash(svc.pepper, f"guardian-link\x00{child}\x00{guardian}")


def _child_ref(pepper: bytes, child: str) -> str:
    return keyed_hash(pepper, f"guardian-child\x00{child}")


async def held_level(pepper: bytes, store: GuardianStore, policy: Policy, sid: str, band: str) -> str | None:
    """The level of a guardian's confirmation of ``band`` for ``sid`` that still holds (its link
    lives: neither side erased, within retention), or None; the highest when several do."""
    levels = policy.levels
    ref = _child_ref(pepper, sid)
    held = [
        link.upper_level
        for link in await store.link_values(sid)
        if link.child_ref == ref and link.band == band and link.upper_level in levels
    ]
    return levels.highest(held) if held else None


def _rules(policy: Policy, record: AssuranceRecord) -> GuardianRules:
    juris = policy.jurisdictions.get(record.jurisdiction)
    if juris is None or juris.guardian is None:
        raise GuardianNotAvailable("this jurisdiction has no guardian confirmation")
    return juris.guardian


def _confirmable(policy: Policy, rules: GuardianRules, band: str) -> bool:
    if band not in policy.bands or not policy.is_minor_band(band):
        return False
    return rules.bands is None or band in rules.bands


def may_issue(policy: Policy, record: AssuranceRecord) -> bool:
    """Whether a code would help: a band a guardian may confirm, not yet confirmed from above at
    the level a guardian's confirmation gives (the hosted page offers the code only then)."""
    juris = policy.jurisdictions.get(record.jurisdiction)
    rules = juris.guardian if juris is not None else None
    if rules is None or not _confirmable(policy, rules, record.band):
        return False
    upper, levels = record.upper_level, policy.levels
    return upper is None or upper not in levels or not levels.at_least(upper, rules.guardian_confirmed)


async def issue_code(svc: Guardians, client: Client, ref: SubjectRef) -> IssuedCode:
    """A code for the child to show their guardian; the child's band must be one a guardian may
    confirm (a minor band of the policy's ``guardian.bands``)."""
    child = await own_record(svc.subjects, client, ref)
    policy = svc.policy.current
    rules = _rules(policy, child)
    if not _confirmable(policy, rules, child.band):
        raise GuardianNotAvailable("a guardian cannot confirm this band", band=child.band)
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    now = svc.clock.now()
    ttl = max(1, int(rules.code_ttl.total_seconds()))
    entry = GuardianCode(child.sid, client.id, child.band, int(now.timestamp()))
    await svc.guardians.put_code(_code_ref(svc, client.id, code), entry, ttl)
    svc.audit.emit(
        "guardian.code_issued", client=client.id, sid=child.sid, pol=policy.version, band=child.band, ttl=ttl
    )
    return IssuedCode(f"{code[:5]}-{code[5:]}", now + timedelta(seconds=ttl))


async def confirm(svc: Guardians, client: Client, guardian_ref: SubjectRef, code: str) -> Confirmed:
    """The guardian (``guardian_ref``) confirms the band of the child whose code this is."""
    guardian = await own_record(svc.subjects, client, guardian_ref)
    policy = svc.policy.current
    levels = policy.levels
    rules = _rules(policy, guardian)
    adult = guardian.band in policy.bands and policy.bands.get(guardian.band).lo >= policy.adult_age
    if not adult or guardian.level not in levels or not levels.at_least(guardian.level, rules.min_level):
        # Checked before the code is spent: an ineligible guardian learns nothing about it.
        raise GuardianNotEligible(
            "a guardian's own age band must be an adult's, established at the policy's level",
            min_level=rules.min_level,
        )
    entry = await svc.guardians.take_code(_code_ref(svc, client.id, code))
    if entry is None or entry.client_id != client.id:
        raise GuardianCodeInvalid("the code is not valid: it is wrong, used or expired")
    if entry.sid == guardian.sid:
        raise GuardianNotEligible("a subject cannot be their own guardian", min_level=rules.min_level)
    if len(await svc.guardians.live_links(guardian.sid)) >= rules.max_children:
        raise GuardianLimitReached("this guardian has confirmed as many children as the policy allows")
    level = rules.guardian_confirmed
    if levels.rank(guardian.level) < levels.rank(level):
        level = guardian.level  # never more certain than the guardian's own age

    def confirmed(current: AssuranceRecord | None) -> AssuranceRecord | None:
        if current is None or current.client_id != client.id or current.band != entry.band:
            return None  # erased, or its band changed since the code was made
        upper = current.upper_level
        if upper in levels and levels.at_least(upper, level):  # type: ignore[arg-type]  # checked
            return current
        return replace(current, upper_level=level)

    child = await svc.subjects.records.get_record(entry.sid)
    _, written = await write_record(svc.writing, entry.sid, confirmed, child)
    stored = written or child
    if stored is None or stored.client_id != client.id or stored.band != entry.band:
        raise GuardianCodeInvalid("the code is not valid: the child's age band changed since it was made")
    upper = stored.upper_level or level
    value = GuardianLink(_child_ref(svc.pepper, entry.sid), stored.band, level)
    await svc.guardians.add_link(
        _link(svc, entry.sid, guardian.sid), entry.sid, guardian.sid, value,
        int(policy.retention.total_seconds()),
    )  # fmt: skip
    svc.audit.emit(
        "guardian.confirmed", client=client.id, sid=entry.sid, pol=policy.version, band=stored.band,
        level_name=upper,
    )  # fmt: skip
    data = {"sid": entry.sid, "band": stored.band, "upper_level": upper}
    await events.publish(svc.publishing, client.id, events.GUARDIAN_CONFIRMED, data)
    return Confirmed(entry.sid, stored.band, upper)
