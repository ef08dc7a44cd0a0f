"""Abuse signals, limits and sanctions.

Counters live in the store with the policy's window as TTL, keyed by pseudonyms only: the sid,
or a keyed hash (the pepper, per client) of the device id and client IP the app relays. The raw
device id and IP never reach the store or the logs.

Signals: too many attempts per sid, device or IP (``rate_limited``); repeated failures
(``repeated_failures``, a cooldown); many methods tried after a failure (``method_shopping``);
a provider's circumvention failure such as a failed liveness check (``liveness_failed``);
contradictory signals in one check (``inconsistent_signals``); a re-check that finds a younger
band than the record holds (``younger_band``), or a minor band for a subject assured adult
(``adult_claims_minor``). The policy names the sanction for each.

Sanctions: a lock (checks and refreshes answer 429 ``subject_locked``), a minimum level for
the next check, revoking every outstanding token, and a ``subject.flagged`` webhook. A lock or a
minimum level also binds the device the app relayed (its keyed hash, kept until the sanction
lapses), so a new account on the same device inherits it; failures count per device too, and
more distinct subjects from one device in a window than the policy allows is ``shared_device``. Tokens
carry no generation claim, so revocation writes the revocation marker, which introspection
compares with ``iat``, and bumps ``generation`` in the record past ``passed_generation`` (see
``tokens_voided``): introspection then refuses every token of the record, and refresh asks for a
new check, however short the lock and after the marker's TTL; only a passing check catches up.
The policy's message for the user reaches them wherever a sanction shows: the problem documents
above, ``recheck_required``, and the evidence response that brought the sanction on (the signal
functions return the signal for it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from service.audit.events import Audit
from service.core.clock import Clock
from service.core.ids import keyed_hash
from service.flows import content_cascade, events
from service.flows.content_cascade import ContentCascade
from service.flows.errors import RateLimited, StrongerMethodRequired, SubjectLocked
from service.flows.records import RecordWriting, write_record
from service.policy.compiled import Jurisdiction, Limit, Policy, SanctionRule
from service.policy.holder import PolicyHolder
from service.policy.model import AbuseSignal
from service.store.records import AssuranceRecord, CheckState, Sanction
from service.store.roles import CounterStore, RevocationStore, SanctionStore, SingleUse

ATTEMPTS = "attempts"
FAILURES = "failures"
SHOPPING = "shopping"
SUBJECTS = "subjects"  # the distinct subjects checked from one device
DEVICE_HEADER = "ageband-device"
IP_HEADER = "ageband-client-ip"


@dataclass(frozen=True, slots=True)
class AbuseControl:
    """What counting attempts and imposing sanctions touch: the counters (keyed by the pepper's
    hashes), the sanctions, and for a revoking sanction the markers, the record and the app."""

    policy: PolicyHolder
    clock: Clock
    pepper: bytes
    audit: Audit
    counters: CounterStore
    sanctions: SanctionStore
    once: SingleUse  # each subject counted once per device window
    revocations: RevocationStore
    # Revocation markers outlive every token they void: lifetime + leeway + verifier cache.
    revocation_ttl: int
    writing: RecordWriting
    publishing: events.Publishing
    # The person's content items: a sanction makes them unpublishable.
    content: ContentCascade | None = None


@dataclass(frozen=True, slots=True)
class Concerned:
    """Whom a sanction concerns when no check brought it on (a missed re-check deadline)."""

    client_id: str
    sid: str
    check_id: str | None
    policy_version: str
    device: str | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an attempt came from, as keyed hashes (never the raw values)."""

    device: str | None = None
    ip: str | None = None


def origin_of(pepper: bytes, client_id: str, device: str | None, ip: str | None) -> Origin:
    """Hash what the app relayed at once; the raw values go no further than this call."""

    def pseudonym(kind: str, value: str | None) -> str | None:
        if not value or len(value) > 256:
            return None
        return f"{kind}_" + keyed_hash(pepper, f"{kind}\x00{client_id}\x00{value.strip()}")

    return Origin(pseudonym("dev", device), pseudonym("ip", ip))


def _iso(epoch: int | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch is not None else None


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds()))


def _now(svc: AbuseControl) -> int:
    return int(svc.clock.now().timestamp())


async def guard(
    svc: AbuseControl, sid: str, locale: str | None, device: str | None = None
) -> Sanction | None:
    """Refuse a locked subject, or a subject on a locked device (a new account on the same
    device inherits the lock); otherwise the sanction still in force (for its minimum level)."""
    return unlocked(svc, await in_force(svc, sid, device), locale, device)


def unlocked(
    svc: AbuseControl, sanction: Sanction | None, locale: str | None, device: str | None = None
) -> Sanction | None:
    """``guard``'s judgement of a sanction already read: ``SubjectLocked`` while its lock holds."""
    if sanction is not None and sanction.locked_until is not None and sanction.locked_until > _now(svc):
        rule = _rule(svc, sanction)
        raise SubjectLocked(
            "checks and refreshes are locked for this subject for a while",
            reason=sanction.signal,
            scope="device" if sanction.sid == device else "sid",
            locked_until=datetime.fromtimestamp(sanction.locked_until, UTC).isoformat(),
            retry_after=sanction.locked_until - _now(svc),
            consequence=svc.policy.current.text(rule.message, locale) if rule else None,
        )
    return sanction


async def in_force(svc: AbuseControl, sid: str, device: str | None) -> Sanction | None:
    """The subject's sanction or its device's, whichever binds more: a lock first, then the
    higher minimum level."""
    own = await svc.sanctions.get_sanction(sid)
    if device is None:
        return own
    other = await svc.sanctions.get_device_sanction(device)
    if other is None or other.until <= _now(svc):
        return own
    if own is None or own.until <= _now(svc):
        return other
    now, levels = _now(svc), svc.policy.current.levels

    def weight(s: Sanction) -> tuple[bool, int]:
        locked = s.locked_until is not None and s.locked_until > now
        return locked, levels.rank(s.min_level) if s.min_level in levels else -1  # type: ignore[arg-type]

    return other if weight(other) > weight(own) else own


def _rule(svc: AbuseControl, sanction: Sanction) -> SanctionRule | None:
    for juris in svc.policy.current.jurisdictions.values():
        if (rule := juris.abuse.sanctions.get(sanction.signal)) is not None:
            return rule
    return None


def method_level(policy: Policy, name: str) -> str:
    """The best level a method can give (its own, or a qualifier's)."""
    method = policy.methods[name]
    return policy.levels.highest([method.level, *method.qualifier_levels.values()])


def reaching(policy: Policy, names: list[str], sanction: Sanction | None) -> list[str]:
    """Only the methods that can reach a sanction's minimum level (all of them without one), so
    the user is never steered to a method that cannot settle the sanction."""
    if sanction is None or sanction.min_level is None:
        return names
    if sanction.min_level not in policy.levels:
        return names  # a level the live policy no longer has: the record check still applies
    floor = sanction.min_level
    return [n for n in names if policy.levels.at_least(method_level(policy, n), floor)]


def strong_enough(
    svc: AbuseControl, names: list[str], sanction: Sanction | None, locale: str | None, juris: Jurisdiction
) -> list[str]:
    """Only the methods that can reach a sanction's minimum level; none at all is an error."""
    if sanction is None or sanction.min_level is None:
        return names
    policy = svc.policy.current
    kept = reaching(policy, names, sanction)
    if not kept:
        rule = juris.abuse.sanctions.get(sanction.signal)
        raise StrongerMethodRequired(
            "none of this jurisdiction's methods reaches the level the subject now needs",
            reason=sanction.signal,
            min_level=sanction.min_level,
            consequence=policy.text(rule.message, locale) if rule else None,
        )
    return kept


async def required_level(svc: AbuseControl, sid: str, level: str, device: str | None = None) -> str:
    """The policy's level for a band, raised to a sanction's minimum level (the subject's or
    its device's)."""
    sanction = await in_force(svc, sid, device)
    levels = svc.policy.current.levels
    if sanction is None or sanction.min_level is None or sanction.min_level not in levels:
        return level
    return levels.highest([level, sanction.min_level])


def needs_recheck(
    svc: AbuseControl, record: AssuranceRecord, sanction: Sanction | None, locale: str | None = None
) -> Sanction | None:
    """A refresh must not outlive a sanction: of the subject's own sanction (as read with the
    record), the one whose minimum level is above the record's (check again), or None. A lock
    raises ``SubjectLocked``."""
    sanction = unlocked(svc, sanction, locale)
    levels = svc.policy.current.levels
    if (
        sanction is not None
        and sanction.min_level in levels
        and record.level in levels
        and not levels.at_least(record.level, sanction.min_level or record.level)
    ):
        return sanction
    return None


def tokens_voided(record: AssuranceRecord) -> bool:
    """A revoking sanction came after the record's last passing check: the record backs no token
    (introspection) and gives none (refresh) until a new check passes. Unlike the revocation
    marker, this lasts as long as the record, whatever the lock."""
    return record.generation != record.passed_generation


def voided_notice(svc: AbuseControl, record: AssuranceRecord, locale: str | None) -> dict[str, str | None]:
    """Why a voided record needs a new check: the revoking signal and the policy's message."""
    juris = svc.policy.current.jurisdictions.get(record.jurisdiction)
    rule = juris.abuse.sanctions.get(record.revoked_for) if juris and record.revoked_for else None
    return {
        "reason": record.revoked_for,
        "consequence": svc.policy.current.text(rule.message, locale) if rule else None,
    }


def notice(svc: AbuseControl, sanction: Sanction, locale: str | None) -> dict[str, str | None]:
    """A sanction for a response: its reason code and the policy's message for the user."""
    rule = _rule(svc, sanction)
    return {
        "reason": sanction.signal,
        "consequence": svc.policy.current.text(rule.message, locale) if rule else None,
    }


async def count_attempt(
    svc: AbuseControl, check: CheckState, juris: Jurisdiction, method: str, origin: Origin, locale: str | None
) -> AbuseSignal | None:
    """Count one attempt per sid, device and IP; shopping once a failure is on file. Returns the
    signal whose sanction was imposed but lets the attempt go on (one that locks raises)."""
    abuse = juris.abuse
    scopes: list[tuple[str, str | None, Limit | None]] = [
        ("sid", check.sid, abuse.per_sid),
        ("device", origin.device, abuse.per_device),
        ("ip", origin.ip, abuse.per_ip),
    ]
    for scope, subject, limit in scopes:
        if limit is None or subject is None:
            continue
        if await svc.counters.count_hit(ATTEMPTS, subject, _seconds(limit.window)) > limit.max:
            await impose(svc, check, juris, AbuseSignal.RATE_LIMITED, scope=scope)
            raise RateLimited(
                "too many attempts in a short time",
                scope=scope,
                retry_after=_seconds(limit.window),
                consequence=consequence(svc, juris, AbuseSignal.RATE_LIMITED, locale),
            )
    shared = abuse.shared_device
    if shared is not None and origin.device is not None:
        # Members are keyed hashes of sids: the set counts accounts, it lists nobody.
        member = keyed_hash(svc.pepper, f"member\x00{check.sid}")
        window = _seconds(shared.window)
        new = await svc.once.use_once(f"{SUBJECTS}|{origin.device}|{member}", window)
        seen = await svc.counters.add_distinct(SUBJECTS, origin.device, member, window)
        if new and seen > shared.max:  # a subject beyond the limit, once each
            imposed = await impose(svc, check, juris, AbuseSignal.SHARED_DEVICE, scope="device")
            await guard(svc, check.sid, locale, origin.device)  # a lock stops this attempt too
            if imposed is not None:
                return AbuseSignal.SHARED_DEVICE
    shop = abuse.method_shopping
    if shop is not None and await svc.counters.peek_count(FAILURES, check.sid) > 0:
        tried = await svc.counters.add_distinct(SHOPPING, check.sid, method, _seconds(shop.window))
        if tried >= shop.max:
            await svc.counters.clear_counters(check.sid, [SHOPPING])
            imposed = await impose(svc, check, juris, AbuseSignal.METHOD_SHOPPING)
            await guard(svc, check.sid, locale)  # a lock stops this attempt too
            return AbuseSignal.METHOD_SHOPPING if imposed else None
    return None


async def count_failure(
    svc: AbuseControl, check: CheckState, juris: Jurisdiction, method: str, *, circumvention: bool
) -> AbuseSignal | None:
    """A failed attempt: cooldown counting, the shopping set, and liveness failures. Returns the
    signal whose sanction this failure brought on, if any."""
    abuse = juris.abuse
    window = abuse.failures.window if abuse.failures else timedelta(hours=1)
    failures = await svc.counters.count_hit(FAILURES, check.sid, _seconds(window))
    if check.device is not None:  # a fresh account on the same device does not start from zero
        failures = max(failures, await svc.counters.count_hit(FAILURES, check.device, _seconds(window)))
    if abuse.method_shopping is not None:
        await svc.counters.add_distinct(SHOPPING, check.sid, method, _seconds(abuse.method_shopping.window))
    signal = None
    if circumvention:
        signal = AbuseSignal.LIVENESS_FAILED
    elif abuse.failures is not None and failures >= abuse.failures.max:
        await svc.counters.clear_counters(check.sid, [FAILURES])
        signal = AbuseSignal.REPEATED_FAILURES
    if signal is not None and await impose(svc, check, juris, signal) is not None:
        return signal
    return None


async def inconsistent(svc: AbuseControl, check: CheckState, juris: Jurisdiction) -> AbuseSignal | None:
    """Contradictory signals in one check: the policy's ``inconsistent_signals`` sanction."""
    await svc.counters.count_hit(FAILURES, check.sid, _seconds(timedelta(hours=1)))
    signal = AbuseSignal.INCONSISTENT_SIGNALS
    return signal if await impose(svc, check, juris, signal, flagged_already=True) else None


async def after_pass(
    svc: AbuseControl,
    check: CheckState,
    juris: Jurisdiction,
    previous: AssuranceRecord | None,
    record: AssuranceRecord,
    adult_claims_minor: bool = False,
) -> AbuseSignal | None:
    """A passing check: a younger band than the record held is a signal (returned when the policy
    sanctions it), ``adult_claims_minor`` when an assured adult now claims a minor band (the
    grooming pattern; see service.flows.edges); a pass at the required level settles a
    sanction's minimum level, and clears the failure counters."""
    bands = svc.policy.current.bands
    younger = (
        previous is not None
        and previous.client_id == record.client_id
        and previous.band in bands
        and record.band in bands
        and bands.get(record.band).lo < bands.get(previous.band).lo
    )
    await svc.counters.clear_counters(check.sid, [FAILURES, SHOPPING])
    sanction = await svc.sanctions.get_sanction(check.sid)
    levels = svc.policy.current.levels
    if (
        sanction is not None
        and sanction.min_level in levels
        and levels.at_least(record.level, sanction.min_level or record.level)
    ):
        await svc.sanctions.clear_sanction(check.sid)
    if younger:
        # Tokens issued before this second are void; the record and token of this check are not:
        # they already protect the subject as the younger band.
        signal = AbuseSignal.ADULT_CLAIMS_MINOR if adult_claims_minor else AbuseSignal.YOUNGER_BAND
        if await impose(svc, check, juris, signal, revoke_before=_now(svc) - 1) is not None:
            return signal
    return None


def consequence(
    svc: AbuseControl, juris: Jurisdiction, signal: AbuseSignal, locale: str | None
) -> str | None:
    """The policy's message for the user about ``signal``'s sanction, in their language."""
    rule = juris.abuse.sanctions.get(signal.value)
    return svc.policy.current.text(rule.message, locale) if rule else None


async def impose(
    svc: AbuseControl,
    check: CheckState | Concerned,
    juris: Jurisdiction,
    signal: AbuseSignal,
    *,
    scope: str | None = None,
    flagged_already: bool = False,
    revoke_before: int | None = None,
) -> Sanction | None:
    """Apply the policy's sanction for ``signal``; without one the subject is only flagged.

    ``revoke_before`` is for a sanction a passing check brought on: tokens issued before it are
    void, while the record that check wrote (and the token it issues) stands.
    """
    now = _now(svc)
    rule = juris.abuse.sanctions.get(signal.value)
    ctx = {
        "client": check.client_id,
        "sid": check.sid,
        "check_id": check.check_id,
        "pol": check.policy_version,
    }
    if not flagged_already:
        svc.audit.emit("subject.flagged", reason=signal.value, scope=scope, **ctx)
    if rule is None:
        await events.publish(
            svc.publishing, check.client_id, events.FLAGGED, {"sid": check.sid, "reason": signal.value}
        )
        return None
    existing = await svc.sanctions.get_sanction(check.sid)
    locked_until = now + _seconds(rule.lock) if rule.lock else None
    min_level = rule.min_level
    until = max(locked_until or now, now + _seconds(rule.remember) if min_level else now)
    if existing is not None and existing.until > now:  # never weaken what is in force
        if existing.locked_until and (locked_until is None or existing.locked_until > locked_until):
            locked_until = existing.locked_until
        levels = svc.policy.current.levels
        if existing.min_level in levels and (
            min_level is None or levels.rank(existing.min_level or "") > levels.rank(min_level)
        ):
            min_level = existing.min_level
        until = max(until, existing.until)
    sanction = Sanction(check.sid, check.client_id, signal.value, now, locked_until, min_level, until)
    if locked_until is not None or min_level is not None:
        await svc.sanctions.put_sanction(sanction, max(1, until - now))
        if check.device is not None:
            # The device carries it too, with no sid: a new account on it inherits the sanction.
            on_device = replace(sanction, sid=check.device)
            await svc.sanctions.put_device_sanction(check.device, on_device, max(1, until - now))
    if rule.revoke_tokens:
        at, stands = (now, False) if revoke_before is None else (revoke_before, True)
        await _revoke_tokens(svc, check.sid, check.client_id, at, signal.value, stands=stands)
    svc.audit.emit(
        "sanction.imposed", signal=signal.value, locked_until=locked_until, min_level=min_level,
        tokens_revoked=rule.revoke_tokens, **ctx,
    )  # fmt: skip
    if svc.content is not None:
        await content_cascade.flag_subject(
            svc.content, check.client_id, check.sid, content_cascade.SANCTIONED
        )
    if rule.notify:
        data = {
            "sid": check.sid,
            "reason": signal.value,
            "sanction": {
                "locked_until": datetime.fromtimestamp(locked_until, UTC).isoformat()
                if locked_until
                else None,
                "min_level": min_level,
                "tokens_revoked": rule.revoke_tokens,
            },
        }
        await events.publish(svc.publishing, check.client_id, events.FLAGGED, data)
    return sanction


async def _revoke_tokens(
    svc: AbuseControl, sid: str, client_id: str, at: int, signal: str, *, stands: bool
) -> None:
    await svc.revocations.revoke(sid, at, svc.revocation_ttl)

    def bumped(record: AssuranceRecord | None) -> AssuranceRecord | None:
        if record is None or record.client_id != client_id:
            return None
        generation = record.generation + 1
        if stands:  # the passing check that brought this on wrote the record: it stays current
            return replace(record, generation=generation, passed_generation=generation)
        # No token from this record until a new check passes (refresh, introspection).
        return replace(record, generation=generation, revoked_for=signal)

    await write_record(svc.writing, sid, bumped, await svc.writing.records.get_record(sid))
    svc.audit.emit("subject.revoked", client=client_id, sid=sid, reason="sanction")
    await events.publish(svc.publishing, client_id, events.REVOKED, {"sid": sid, "reason": "sanction"})
