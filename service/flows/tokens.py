"""Token use cases: refresh, introspect (RFC 7662), revoke and erase."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from service.audit.events import sid_ref
from service.clients.registry import Client
from service.core.dates import start_of_day
from service.core.errors import AgebandError
from service.flows import abuse, events, lifecycle
from service.flows.checks import start_check
from service.flows.context import Services
from service.flows.errors import RecheckRequired
from service.flows.issuing import issue_token
from service.flows.results import IssuedToken
from service.flows.subjects import SubjectRef, erasable, own_record


async def refresh(svc: Services, client: Client, ref: SubjectRef, locale: str | None = None) -> IssuedToken:
    record = await own_record(svc, client, ref)
    policy = svc.policy.current
    now = svc.clock.now()
    juris = policy.jurisdictions.get(record.jurisdiction)
    grace = juris.grace if juris else timedelta(0)
    recheck_at = start_of_day(record.recheck_at)
    # A sanction's lock answers 429 here; a sanction's minimum level above the record's asks for a
    # check, and so do tokens voided by a sanction since the last passing check (lock over or not).
    expired = now >= recheck_at + grace
    sanction = None if expired else await abuse.needs_recheck(svc, record, locale)
    voided = abuse.tokens_voided(record)
    if expired or sanction is not None or voided:
        svc.metrics.refresh("recheck_required")
        started = await start_check(
            svc, client, SubjectRef(sid=record.sid), record.jurisdiction, "recheck", locale
        )
        if sanction is not None:
            why, notice = "a sanction is in force", abuse.notice(svc, sanction, locale)
        elif voided:
            why, notice = "a sanction revoked this subject's tokens", abuse.voided_notice(svc, record, locale)
        else:
            why, notice = "the re-check date and its grace period have passed", {}
        raise RecheckRequired(
            f"{why}; complete the new check",
            check_id=started.check_id,
            method=started.method.name,
            methods=[m.name for m in started.methods],
            # The sanction's code and the policy's message, so the user learns why and what follows.
            **notice,
        )
    record = await lifecycle.age_up(svc, record)
    svc.metrics.refresh("issued_recheck_due" if now >= recheck_at else "issued")
    return issue_token(svc, record, recheck_due=now >= recheck_at)


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
    if (
        record is None
        or record.client_id != client.id
        or (revoked is not None and claims.iat <= revoked)
        or abuse.tokens_voided(record)  # outlasts the marker: void until a new check passes
    ):
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
            "upper_level": claims.upper_level,
            "method": claims.method,
            "jur": claims.jur,
            "pol": claims.pol,
            "recheck_at": claims.recheck_at,
        },
    )


async def revoke(svc: Services, client: Client, ref: SubjectRef) -> None:
    """Void every outstanding token and drop the record."""
    sid = (await own_record(svc, client, ref)).sid
    await svc.store.revoke(sid, int(svc.clock.now().timestamp()), svc.revocation_ttl)
    await svc.store.delete_record(sid, client.id)
    svc.audit.emit("subject.revoked", client=client.id, sid=sid)
    await events.publish(svc, client.id, events.REVOKED, {"sid": sid, "reason": "app_request"})


async def erase(svc: Services, client: Client, ref: SubjectRef) -> bool:
    """Erase every key of the subject; whether a record or check of it was still stored.

    Idempotent: a repeated erasure finds nothing and is no error. Erasure is revocation too:
    only the revocation marker (a timestamp that must outlive the record to void issued tokens)
    stays, until its short TTL ends.
    """
    target = await erasable(svc, client, ref)
    if target is None:
        return False
    sid, checks, dropped = target.sid, 0, 0
    if target.found:
        await svc.store.revoke(sid, int(svc.clock.now().timestamp()), svc.revocation_ttl)
        await svc.store.delete_record(sid, client.id)
    if target.sweep:
        checks = await svc.store.erase_checks(sid)  # open and just-finished checks included
        await svc.store.unschedule(client.id, sid)
        await svc.store.clear_sanction(sid)
        await svc.store.clear_counters(sid, [abuse.ATTEMPTS, abuse.FAILURES, abuse.SHOPPING])
        # Webhook events not yet delivered (queued, retrying or dead-lettered) name the sid too.
        dropped = await svc.store.erase_events(sid)
    # The erased sid stays out of the trail: a keyed hash lets its holder find the event.
    svc.audit.subject_erased(
        client=client.id, sid_ref=sid_ref(svc.pepper, sid), count=checks, events=dropped,
        outcome="erased" if target.found else "nothing_stored",
    )  # fmt: skip
    return target.found
