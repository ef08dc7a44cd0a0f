"""Appeals: a user contests the band on record with a check of ``purpose: appeal``.

The jurisdiction's ``appeal`` section names the methods an appeal may use; only those stronger
than the level that set the band are offered (a self-declared band can be appealed with an OS
signal a parent vouches for, an estimate or a credential; a credential's band only with
another method of its level or above, if any). The appeal has a deadline, shown to the user.
Meanwhile the band on record holds, and nothing loosens: an appeal check is an ordinary check
whose result still passes the ratchet (see service.flows.edges), so only evidence at the
jurisdiction's upgrade level, and at least the level that set the band, moves it older.

``appeal.opened`` and ``appeal.decided`` (``granted``: the band moved; ``upheld``: the check
confirmed the band or found a younger one; ``failed``: the check failed) are audited and sent
by webhook. Only the sid, the contested band and level, the check id and the times are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from service.audit.events import Audit
from service.core.clock import Clock
from service.flows import events
from service.flows.errors import AppealsNotOffered
from service.policy.compiled import Jurisdiction, Policy
from service.policy.holder import PolicyHolder
from service.store.records import AssuranceRecord, CheckState
from service.store.reviews import Appeal
from service.store.roles import AppealStore

APPEAL = "appeal"  # the purpose of a check that contests the band on record
GRANTED, UPHELD, FAILED = "granted", "upheld", "failed"


@dataclass(frozen=True, slots=True)
class Appeals:
    """What an appeal touches: the open appeal, and the app's webhook."""

    policy: PolicyHolder
    clock: Clock
    audit: Audit
    appeals: AppealStore
    publishing: events.Publishing


@dataclass(frozen=True, slots=True)
class Opened:
    deadline: datetime
    message: str


def best_level(policy: Policy, name: str) -> str:
    method = policy.methods[name]
    return policy.levels.highest([method.level, *method.qualifier_levels.values()])


def stronger_methods(policy: Policy, juris: Jurisdiction, level: str) -> list[str]:
    """The appeal's methods whose best level is above the one that set the band."""
    if juris.appeal is None:
        return []
    levels = policy.levels
    return [
        m
        for m in juris.appeal.methods
        if m in policy.methods
        and (level not in levels or levels.rank(best_level(policy, m)) > levels.rank(level))
    ]


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


async def open_appeal(
    svc: Appeals, record: AssuranceRecord, juris: Jurisdiction, check_id: str, locale: str | None
) -> Opened:
    """Open (or renew with a new check) the subject's appeal; its deadline stays the first one's."""
    if juris.appeal is None:
        raise AppealsNotOffered("this jurisdiction takes no appeals")
    policy = svc.policy.current
    now = int(svc.clock.now().timestamp())
    existing = await svc.appeals.get_appeal(record.sid)
    if existing is not None and existing.client_id == record.client_id and existing.band == record.band:
        deadline, opened_at = existing.deadline, existing.opened_at
    else:
        deadline, opened_at = now + int(juris.appeal.deadline.total_seconds()), now
    appeal = Appeal(record.sid, record.client_id, check_id, record.band, record.level, opened_at, deadline)
    await svc.appeals.put_appeal(appeal, max(1, deadline - now))
    if opened_at == now:
        svc.audit.emit(
            "appeal.opened", client=record.client_id, sid=record.sid, check_id=check_id,
            pol=policy.version, band=record.band, level_name=record.level, deadline=_iso(deadline),
        )  # fmt: skip
        data = {"sid": record.sid, "check_id": check_id, "band": record.band, "deadline": _iso(deadline)}
        await events.publish(svc.publishing, record.client_id, events.APPEAL_OPENED, data)
    day = datetime.fromtimestamp(deadline, UTC).date().isoformat()
    return Opened(
        deadline=datetime.fromtimestamp(deadline, UTC),
        message=policy.text(juris.appeal.message, locale).replace("{deadline}", day),
    )


async def decide(svc: Appeals, check: CheckState, record: AssuranceRecord | None) -> None:
    """An appeal check ended: passed (``record`` is what it wrote) or failed (None)."""
    appeal = await svc.appeals.get_appeal(check.sid)
    if appeal is None or appeal.client_id != check.client_id or appeal.check_id != check.check_id:
        return  # lapsed, or another appeal check took over
    bands = svc.policy.current.bands
    if record is None:
        outcome, band = FAILED, appeal.band
    else:
        band = record.band
        older = band in bands and appeal.band in bands and bands.get(band).lo > bands.get(appeal.band).lo
        outcome = GRANTED if older else UPHELD
    await svc.appeals.clear_appeal(check.sid)
    svc.audit.emit(
        "appeal.decided", client=check.client_id, sid=check.sid, check_id=check.check_id,
        pol=svc.policy.current.version, outcome=outcome, band_from=appeal.band, band_to=band,
    )  # fmt: skip
    data = {
        "sid": check.sid,
        "check_id": check.check_id,
        "outcome": outcome,
        "band_from": appeal.band,
        "band": band,
    }
    await events.publish(svc.publishing, check.client_id, events.APPEAL_DECIDED, data)
