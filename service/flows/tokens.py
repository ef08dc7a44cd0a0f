"""Token use cases: issue, refresh, introspect (RFC 7662), revoke and erase."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from service.audit.events import sid_ref
from service.clients.registry import Client
from service.core.dates import add_years, day_of, epoch, start_of_day
from service.core.errors import AgebandError
from service.flows import abuse, events, lifecycle
from service.flows.context import Services
from service.flows.errors import RecheckRequired
from service.flows.results import IssuedToken
from service.flows.subjects import SubjectRef, own_record
from service.store.records import AssuranceRecord


def issue_token(svc: Services, record: AssuranceRecord, *, recheck_due: bool) -> IssuedToken:
    token, claims = svc.signer.issue(
        client_id=record.client_id,
        sid=record.sid,
        band=record.band,
        level=record.level,
        method=record.method,
        jurisdiction=record.jurisdiction,
        policy_version=svc.policy.current.version,
        recheck_at=epoch(record.recheck_at),
    )
    svc.audit.token_issued(
        claims=_CLAIM_NAMES, kid=svc.keyring.signing_key.kid,
        client=record.client_id, sid=record.sid, pol=record.policy_version,
    )  # fmt: skip
    svc.metrics.token_issued(record.band)
    return IssuedToken(
        token=token,
        expires_in=claims.exp - claims.iat,
        band=record.band,
        level=record.level,
        recheck_at=record.recheck_at,
        recheck_due=recheck_due,
    )


_CLAIM_NAMES = (
    "iss", "aud", "sub", "iat", "exp", "jti", "age_band", "level", "method", "jur", "pol", "recheck_at",
)  # fmt: skip


async def refresh(svc: Services, client: Client, ref: SubjectRef) -> IssuedToken:
    from service.flows.checks import start_check  # checks issue tokens too: import at use

    record = await own_record(svc, client, ref)
    policy = svc.policy.current
    now = svc.clock.now()
    juris = policy.jurisdictions.get(record.jurisdiction)
    grace = juris.grace if juris else timedelta(0)
    recheck_at = start_of_day(record.recheck_at)
    # A sanction's lock answers 429 here; a sanction's minimum level above the record's asks for a check.
    if now >= recheck_at + grace or await abuse.needs_recheck(svc, record):
        svc.metrics.refresh("recheck_required")
        started = await start_check(
            svc, client, SubjectRef(sid=record.sid), record.jurisdiction, "recheck", None
        )
        raise RecheckRequired(
            "the re-check date and its grace period have passed; complete the new check",
            check_id=started.check_id,
            method=started.method.name,
            methods=[m.name for m in started.methods],
        )
    record = await _age_up(svc, record)
    svc.metrics.refresh("issued_recheck_due" if now >= recheck_at else "issued")
    return issue_token(svc, record, recheck_due=now >= recheck_at)


async def _age_up(svc: Services, record: AssuranceRecord) -> AssuranceRecord:
    """Move an exact-interval minor into the next band once ``age_up_at`` has passed."""
    policy = svc.policy.current
    today = day_of(svc.clock.now())
    changed = False
    while record.age_up_at is not None and record.age_up_at <= today and record.band in policy.bands:
        nxt = policy.bands.next_after(record.band)
        if nxt is None:
            record.age_up_at = None
            break
        if not lifecycle.level_allows(policy, record, nxt.name):
            break  # the next band needs a stronger level: the re-check decides, not the calendar
        after = policy.bands.next_after(nxt.name)
        record.band = nxt.name
        # age_up_at was rounded up from the birthday, so whole years added to it stay at or
        # after the real birthday of the following band.
        record.age_up_at = add_years(record.age_up_at, after.lo - nxt.lo) if after else None
        changed = True
    if changed:
        await svc.store.put_record(record, int(policy.retention.total_seconds()))
        svc.audit.emit(
            "subject.band_changed", client=record.client_id, sid=record.sid,
            pol=record.policy_version, band=record.band, reason="age_up",
        )  # fmt: skip
        data = {"sid": record.sid, "band": record.band, "reason": "age_up"}
        await events.publish(svc, record.client_id, events.BAND_CHANGED, data)
        await lifecycle.schedule(svc, record)
    return record


@dataclass(frozen=True, slots=True)
class Introspection:
    active: bool
    claims: dict[str, Any] | None = None


async def introspect(svc: Services, client: Client, token: str) -> Introspection:
    try:
        claims = svc.verifier.verify(token, audience=client.id)
    except AgebandError as exc:
        svc.audit.emit("token.rejected", client=client.id, reason=str(exc)[:120])
        svc.metrics.introspection(active=False)
        return Introspection(active=False)
    revoked = await svc.store.revoked_at(claims.sub)
    record = await svc.store.get_record(claims.sub)
    if record is None or record.client_id != client.id or (revoked is not None and claims.iat <= revoked):
        svc.audit.emit("token.rejected", client=client.id, sid=claims.sub, reason="revoked_or_erased")
        svc.metrics.introspection(active=False)
        return Introspection(active=False)
    svc.metrics.introspection(active=True)
    return Introspection(
        active=True,
        claims={
            "client_id": claims.aud,
            "token_type": "ageband+jwt",
            "iss": claims.iss,
            "aud": claims.aud,
            "sub": claims.sub,
            "iat": claims.iat,
            "exp": claims.exp,
            "jti": claims.jti,
            "age_band": claims.age_band,
            "level": claims.level,
            "method": claims.method,
            "jur": claims.jur,
            "pol": claims.pol,
            "recheck_at": claims.recheck_at,
        },
    )


async def revoke(svc: Services, client: Client, ref: SubjectRef, *, erase: bool) -> None:
    """Void every outstanding token and drop the record. Erasure is revocation, audited as such."""
    sid = (await own_record(svc, client, ref)).sid
    now = int(svc.clock.now().timestamp())
    await svc.store.revoke(sid, now, svc.revocation_ttl)
    await svc.store.delete_record(sid, client.id)
    if erase:
        # Every other key of the subject goes too; only the revocation marker (a timestamp that
        # must outlive the record to void issued tokens) stays, until its short TTL ends.
        await svc.store.unschedule(client.id, sid)
        await svc.store.clear_sanction(sid)
        await svc.store.clear_counters(sid, [abuse.ATTEMPTS, abuse.FAILURES, abuse.SHOPPING])
        # The erased sid stays out of the trail: a keyed hash lets its holder find the event.
        svc.audit.subject_erased(client=client.id, sid_ref=sid_ref(svc.pepper, sid))
    else:
        svc.audit.emit("subject.revoked", client=client.id, sid=sid)
        await events.publish(svc, client.id, events.REVOKED, {"sid": sid, "reason": "app_request"})
