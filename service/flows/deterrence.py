"""Deterrence on the way to a child: what a denial with the ``deterrence`` obligation shows, and
the flag that repeated attempts of one subject raise.

The count is one fixed-window counter per sid (the policy's ``deterrence.repeated`` window as its
TTL) and nothing else: no target, no action, no time of each attempt. It is kept only for actors
given as a token, whose sid is known; reaching ``max`` within the window raises
``subject.flagged`` with reason ``repeated_minor_contact_attempts``, once per window. A batch
counts as one attempt when it denies any of its targets so: it is one request of one actor, and
counting each target would flag an adult for one page of a feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.audit.events import Audit
from service.flows import events
from service.policy.compiled import DETERRENCE, Jurisdiction, Policy
from service.policy.interactions import Outcome
from service.store.roles import CounterStore

REPEATED = "repeated_minor_contact_attempts"
SCOPE = "minor_contact"  # the counter's scope name


@dataclass(frozen=True, slots=True)
class Deterring:
    """What counting attempts touches: the counters and the app's notices."""

    audit: Audit
    counters: CounterStore
    publishing: events.Publishing


@dataclass(frozen=True, slots=True)
class Shown:
    message: str
    resources: tuple[Mapping[str, str], ...]


def deters(juris: Jurisdiction, outcome: Outcome) -> bool:
    """Whether this outcome is a denial that brings the jurisdiction's deterrence."""
    return not outcome.allowed and DETERRENCE in outcome.obligations and juris.deterrence is not None


def shown(
    policy: Policy, juris: Jurisdiction, outcome: Outcome, locale: str | None, country: str | None
) -> Shown | None:
    """The deterrence a denial brings: the message in the caller's language and the prevention
    services for the country (else the jurisdiction's own, else its default list)."""
    d = juris.deterrence
    if d is None or not deters(juris, outcome):
        return None
    resources: tuple[Mapping[str, str], ...] = ()
    for key in (country, juris.code, "default"):
        if key is not None and key in d.resources:
            resources = d.resources[key]
            break
    return Shown(policy.text(d.message, locale), resources)


async def attempted(svc: Deterring, juris: Jurisdiction, client_id: str, sid: str, pol: str) -> bool:
    """Count one refused attempt of ``sid``; True when it reaches the limit (the flag is raised)."""
    d = juris.deterrence
    if d is None or d.repeated is None:
        return False
    ttl = max(1, int(d.repeated.window.total_seconds()))
    count = await svc.counters.count_hit(SCOPE, sid, ttl)
    if count != d.repeated.max:
        return False
    svc.audit.emit("subject.flagged", client=client_id, sid=sid, pol=pol, reason=REPEATED, count=count)
    await events.publish(svc.publishing, client_id, events.FLAGGED, {"sid": sid, "reason": REPEATED})
    return True
