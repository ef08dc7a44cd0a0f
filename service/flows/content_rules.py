"""Whether an item of adult content may be published: everyone in it, from the one stored item.

Pure: the item (with each person's consent and a copy of their assurance), the policy and the day.
Per person, the reasons it is not publishable, in this order:

- a flag a cascade set (``revoked``, ``erased``, ``sanctioned``, ``recheck_failed``,
  ``consent_withdrawn``, ``removal_requested``): only a new consent clears it;
- ``consent_missing``: a depicted person who has not consented (to this media hash);
- ``not_assured``: no assurance on record; ``level_too_low``: below ``depicted.required_level``,
  or by a method class that never suffices (estimation);
- ``under_18_at_recording``: the lower edge aged back to the first day of the recording month is
  below the age of majority (depicted persons only);
- ``recheck_overdue``: the person's re-check day has passed;
- otherwise the ``content.publish`` rule's deny reason (uploader as actor, the person as they were
  at the recording month as target), e.g. ``depicted_minor``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, timedelta

from service.core.ids import keyed_hash
from service.core.recording import lower_edge_at, parse_month
from service.policy.compiled import CONTENT_PUBLISH, Depicted, Policy
from service.policy.interactions import PartyKey
from service.store.content import ContentItem, Performer

DEPICTED = "depicted"
UPLOADER = "uploader"
UNKNOWN: PartyKey = (None, None, None)


@dataclass(frozen=True, slots=True)
class PersonStatus:
    index: int  # the person's place in the item: depicted persons in the app's order, then the uploader
    role: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    publishable: bool
    people: tuple[PersonStatus, ...]
    # Publishable items: the first day they no longer are (a re-check falls due); else None.
    lapses: date | None


def consent_hash(pepper: bytes, content_id: str, sid: str, content_hash: str) -> str:
    """A consent as kept: a keyed hash of what was consented to (this item, this person, this
    media), which names nobody and cannot be moved to other media."""
    return keyed_hash(_consent_key(pepper), "\x00".join((content_id, sid, content_hash)))


@functools.lru_cache(maxsize=4)
def _consent_key(pepper: bytes) -> bytes:
    """Derived once per pepper: every verdict checks each consent against it."""
    return hmac.new(pepper, b"ageband content consent", hashlib.sha256).digest()


def judge(policy: Policy, depicted: Depicted, item: ContentItem, today: date, pepper: bytes) -> Verdict:
    recorded = parse_month(item.recorded)
    # The uploader acts; one who is also depicted is not listed twice (the first depicted stands in:
    # every depicted person needs what an uploader needs).
    uploader = next((p for p in item.people if p.role == UPLOADER), None) or _first_depicted(item)
    actor = _party(policy, depicted, uploader, None)
    people: list[PersonStatus] = []
    lapses: date | None = None
    found = [_reasons(policy, depicted, item, p, recorded, today, pepper) for p in item.people]
    # The rule needs the uploader: while the uploader has reasons of their own, those explain it.
    actor_ok = not any(r for p, r in zip(item.people, found, strict=True) if p is uploader)
    for index, (person, reasons) in enumerate(zip(item.people, found, strict=True)):
        if not reasons and person.role == DEPICTED and actor_ok:
            outcome = policy.tables.decide(
                item.jurisdiction, CONTENT_PUBLISH, actor, _party(policy, depicted, person, recorded)
            )
            if not outcome.allowed:
                reasons.append(outcome.reason)
        if not reasons and person.recheck_at is not None:
            lapse = person.recheck_at + timedelta(days=1)
            lapses = lapse if lapses is None else min(lapses, lapse)
        people.append(PersonStatus(index, person.role, tuple(reasons)))
    publishable = all(not p.reasons for p in people)
    return Verdict(publishable, tuple(people), lapses if publishable else None)


def _first_depicted(item: ContentItem) -> Performer | None:
    return next((p for p in item.people if p.role == DEPICTED), None)


def _reasons(
    policy: Policy,
    depicted: Depicted,
    item: ContentItem,
    person: Performer,
    recorded: date,
    today: date,
    pepper: bytes,
) -> list[str]:
    if person.flag is not None:
        return [person.flag]
    reasons: list[str] = []
    if person.role == DEPICTED and (
        person.consent is None
        or not hmac.compare_digest(
            person.consent, consent_hash(pepper, item.content_id, person.sid, item.content_hash)
        )
    ):
        reasons.append("consent_missing")
    if person.band is None or person.level is None or person.assured_at is None:
        return [*reasons, "not_assured"]
    levels = policy.levels
    if (
        person.level not in levels
        or not levels.at_least(person.level, depicted.required_level)
        or person.method in depicted.never_sufficient
    ):
        reasons.append("level_too_low")
    if person.role == DEPICTED and _age_at(policy, person, recorded) < policy.adult_age:
        reasons.append("under_18_at_recording")
    if person.recheck_at is not None and person.recheck_at < today:
        reasons.append("recheck_overdue")
    return reasons


def _age_at(policy: Policy, person: Performer, at: date) -> int:
    """The person's lower edge at ``at``: the record's, or its band's lowest age when the record
    predates kept lower edges."""
    assert person.assured_at is not None and person.band is not None  # noqa: S101 - checked by the caller
    lo = person.lower_age
    if lo is None:
        lo = policy.bands.get(person.band).lo if person.band in policy.bands else 0
    return lower_edge_at(lo, person.assured_at, at)


def _party(policy: Policy, depicted: Depicted, person: Performer | None, at: date | None) -> PartyKey:
    """The person as a party of the content.publish rules: their band (as it was at ``at``, from
    the aged-back lower edge), and their level unless their method never suffices."""
    if person is None or person.band is None or person.level is None or person.assured_at is None:
        return UNKNOWN
    if person.band not in policy.bands or person.level not in policy.levels:
        return UNKNOWN
    band = person.band
    if at is not None:
        age = _age_at(policy, person, at)
        band = policy.bands.for_age(max(age, 0)).name
    level = None if person.method in depicted.never_sufficient else person.level
    return (
        policy.tables.normalize((band, level, None)) if level else policy.tables.normalize((band, None, None))
    )
