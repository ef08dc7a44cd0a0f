"""The store's roles: one protocol per kind of thing it holds.

A use case depends on the roles it touches, never on the whole store. Each role has its own
slice of the contract suite (tests/store/test_<role>_contract.py), run on every backend; the
memory and Redis stores implement each role in a module of its own and compose them.

Every key has a TTL and a pseudonymous name. All ttl arguments are seconds (> 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from service.store.content import ContentItem, ListedPage
from service.store.events import Delivery, QueuedEvent
from service.store.records import AssuranceRecord, CheckState, PageLink, PageSession, Sanction
from service.store.reviews import Appeal, Connection, GuardianCode, GuardianLink, RecheckRequest


@dataclass(frozen=True, slots=True)
class DueEntry:
    sid: str
    recheck_at: date


@dataclass(frozen=True, slots=True)
class DuePage:
    entries: list[DueEntry]
    cursor: str | None  # opaque; None when there is nothing more


class CheckStore(Protocol):
    """Checks, their attempt counters, and each subject's index of checks (erasure by sid)."""

    async def create_check(self, check: CheckState, ttl: int) -> None:
        """Store a new check; raises ValueError if the id is already taken."""

    async def get_check(self, check_id: str) -> CheckState | None: ...

    async def update_check(self, check: CheckState) -> bool:
        """Compare-and-set: write ``check`` only if the stored version equals
        ``check.version``; on success the stored (and given) version is incremented.
        Keeps the key's remaining TTL. Returns False on a lost race or a missing check."""

    async def claim_attempt(self, check_id: str, limit: int, ttl: int) -> int | None:
        """Atomically count one attempt on a check. Returns the new count, or None when
        the count would exceed ``limit`` (the counter is then left unchanged)."""

    async def release_attempt(self, check_id: str) -> int:
        """Atomically give back one claimed attempt (a step that failed on the service's or the
        vendor's side, not the user's). Never goes below zero, never creates the counter, and
        keeps its TTL. Returns the new count (0 when there is no counter)."""

    async def track_check(self, sid: str, check_id: str, ttl: int) -> None:
        """Index a check under its subject, so that erasure by sid finds it. The index lives as
        long as the longest-lived check put in it (``ttl``: that check's TTL)."""

    async def subject_checks(self, sid: str) -> list[str]:
        """The check ids indexed for ``sid``, sorted; some may have expired already."""

    async def erase_checks(self, sid: str) -> int:
        """Remove the sid's index and every check it names, with their attempt counters.
        Returns how many of those checks still existed."""


class RecordStore(Protocol):
    """Assurance records, and each client's due index of them by re-check date."""

    async def put_record(self, record: AssuranceRecord, ttl: int) -> None:
        """Store the record and (re)index it in its client's due index by recheck_at."""

    async def replace_record(
        self, expected: AssuranceRecord | None, record: AssuranceRecord, ttl: int
    ) -> bool:
        """Compare-and-set: store ``record`` (as ``put_record``) only while the stored record is
        still ``expected``, or absent when ``expected`` is None. False when another writer came
        first: read again and redo the change."""

    async def get_record(self, sid: str) -> AssuranceRecord | None: ...

    async def delete_record(self, sid: str, client_id: str) -> bool:
        """Remove the record and its due-index entry; True if a record existed."""

    async def due(self, client_id: str, before: date, cursor: str | None, limit: int) -> DuePage:
        """The client's sids with recheck_at < before, ordered by (recheck_at, sid).
        Entries whose record no longer exists are skipped."""


@dataclass(frozen=True, slots=True)
class SubjectState:
    """What refresh and introspection read of one subject, each None when absent: read together,
    not judged (whose record it is, and whose request, is the flow's to say)."""

    record: AssuranceRecord | None
    recheck: RecheckRequest | None
    sanction: Sanction | None  # the subject's own, not its device's
    revoked_at: int | None  # the revocation marker


class SubjectStateStore(Protocol):
    """A subject's record, re-check request, sanction and revocation marker in one read: refresh
    needs the first three, introspection the record and the marker, and their keys share the
    sid's hash tag, so one round trip (on a cluster too)."""

    async def subject_state(self, sid: str) -> SubjectState:
        """As ``get_record``, ``get_recheck``, ``get_sanction`` and ``revoked_at`` of ``sid``."""


class RevocationStore(Protocol):
    """Revocation markers: tokens of a sid issued at or before the marker are void."""

    async def revoke(self, sid: str, revoked_at: int, ttl: int) -> None:
        """Remember that tokens for ``sid`` issued at or before ``revoked_at`` are void."""

    async def revoked_at(self, sid: str) -> int | None: ...

    async def revoked_at_many(self, sids: Sequence[str]) -> list[int | None]:
        """``revoked_at`` of each sid, in order, in one round trip (decisions on many tokens)."""


class SingleUse(Protocol):
    """Single-use markers: callbacks, presentations and notices that must count once."""

    async def use_once(self, key: str, ttl: int) -> bool:
        """True the first time a key is used within its TTL, False afterwards (atomic)."""


class CounterStore(Protocol):
    """Abuse counters and distinct sets, in fixed windows, keyed by pseudonyms."""

    async def count_hit(self, scope: str, subject: str, ttl: int) -> int:
        """Add one to a fixed-window counter and return the new count. The window opens at the
        first hit and lasts ``ttl``. ``subject`` is a pseudonym (a sid or a keyed hash)."""

    async def peek_count(self, scope: str, subject: str) -> int:
        """The counter's value without counting (0 when absent or expired)."""

    async def add_distinct(self, scope: str, subject: str, member: str, ttl: int) -> int:
        """Add ``member`` to a windowed set (window opens at the first add); returns its size."""

    async def clear_counters(self, subject: str, scopes: list[str]) -> None:
        """Forget these counters and sets of a subject (e.g. failures after a passing check)."""


class SanctionStore(Protocol):
    """Sanctions in force, of a subject and of a device (its keyed hash)."""

    async def put_sanction(self, sanction: Sanction, ttl: int) -> None: ...

    async def get_sanction(self, sid: str) -> Sanction | None: ...

    async def clear_sanction(self, sid: str) -> None: ...

    async def put_device_sanction(self, device: str, sanction: Sanction, ttl: int) -> None:
        """Keep a sanction for a device (its keyed hash): a new account on it inherits it."""

    async def get_device_sanction(self, device: str) -> Sanction | None: ...


class RecheckStore(Protocol):
    """Re-checks apps demanded: one per subject, the stricter merged in by the flow."""

    async def put_recheck(self, request: RecheckRequest, ttl: int) -> None: ...

    async def get_recheck(self, sid: str) -> RecheckRequest | None: ...

    async def rechecks_of(self, sids: Sequence[str]) -> list[RecheckRequest | None]:
        """``get_recheck`` of each sid, in order, in one round trip (decisions on many tokens)."""

    async def clear_recheck(self, sid: str) -> None: ...


class AppealStore(Protocol):
    """Appeals users opened against their band: one open appeal per subject."""

    async def put_appeal(self, appeal: Appeal, ttl: int) -> None: ...

    async def get_appeal(self, sid: str) -> Appeal | None: ...

    async def clear_appeal(self, sid: str) -> None: ...


class GuardianStore(Protocol):
    """Guardian confirmation: one-time codes (by a keyed hash) and pseudonymous links."""

    async def put_code(self, code_ref: str, code: GuardianCode, ttl: int) -> None: ...

    async def take_code(self, code_ref: str) -> GuardianCode | None:
        """The code's content, removed in the same step: a code confirms once (atomic)."""

    async def add_link(
        self, link: str, child_sid: str, guardian_sid: str, value: GuardianLink, ttl: int
    ) -> None:
        """Keep the link (a keyed hash of both sids) and index it under each sid for erasure."""

    async def live_links(self, sid: str) -> list[str]:
        """The links indexed under ``sid`` that still exist (the other side may have been erased)."""

    async def link_values(self, sid: str) -> list[GuardianLink]:
        """What the live links indexed under ``sid`` hold (links of either side)."""

    async def erase_links(self, sid: str) -> int:
        """Remove every link indexed under ``sid``, and the index; returns how many links existed."""


class ConnectionStore(Protocol):
    """Trusted connections, by a keyed hash of their pair nonce, indexed per sid for erasure."""

    async def put_connection(
        self, nonce_ref: str, connection: Connection, sids: Sequence[str], ttl: int
    ) -> None:
        """Store (or replace) the connection and index it under each of ``sids``."""

    async def get_connection(self, nonce_ref: str) -> Connection | None: ...

    async def erase_connections(self, sid: str) -> int:
        """Remove every connection indexed under ``sid``, and the index; returns how many existed."""


class TimerStore(Protocol):
    """Lifecycle timers: each client's index of the day a sid's next step is due (the worker's)."""

    async def schedule(self, client_id: str, sid: str, at: date, ttl: int) -> None:
        """Set the day of a sid's next lifecycle step (replacing any earlier setting)."""

    async def timers_due(self, client_id: str, before: date, limit: int) -> list[tuple[str, date]]:
        """Up to ``limit`` (sid, day) with day < before, earliest first."""

    async def unschedule(self, client_id: str, sid: str) -> None: ...


class EventStream(Protocol):
    """Webhook events: the stream, its consumer groups and pending entries, retries, dead letters."""

    async def publish_event(self, event: QueuedEvent, ttl: int) -> None:
        """Append an event; the stream (and its retry and dead-letter sets) keep ``ttl``."""

    async def erase_events(self, sid: str) -> int:
        """Drop every event naming this sid (``data.sid``), wherever it waits: the stream
        (pending deliveries included), the retry set and the dead letters. Returns how many.
        A delivery already under way may still reach the app; it is never queued again."""

    async def ensure_group(self, group: str) -> None:
        """Create the consumer group (from the start of the stream) if it is missing."""

    async def read_events(self, group: str, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        """New entries for this consumer; each entry goes to one consumer of the group only."""

    async def read_own_pending(self, group: str, consumer: str, count: int) -> list[Delivery]:
        """Entries this consumer read and never settled: a restarted worker (same name) resumes
        them at once instead of waiting for the idle time a stranger's claim needs."""

    async def claim_stale(self, group: str, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]:
        """Take over entries another consumer read but did not settle for ``min_idle_ms``."""

    async def hand_back(self, group: str, consumer: str, entry_ids: list[str], idle_ms: int) -> None:
        """Give back entries this consumer read but will not deliver (it is stopping): they stay
        pending, so nothing is lost, but look idle for ``idle_ms``, so the next ``claim_stale``
        of any consumer takes them at once."""

    async def ack_event(self, group: str, entry_id: str) -> None:
        """Settle a delivered entry and drop it from the stream."""

    async def retry_event(self, group: str, entry_id: str, event: QueuedEvent, at_ms: int, ttl: int) -> None:
        """Settle the entry and queue ``event`` (same id, next attempt) for ``at_ms``, atomically."""

    async def dead_letter(self, group: str, entry_id: str, event: QueuedEvent, ttl: int) -> None:
        """Settle the entry and keep ``event`` in the dead-letter list, atomically."""

    async def release_retries(self, now_ms: int, limit: int) -> int:
        """Move retries that are due back onto the stream; returns how many moved."""

    async def dead_letters(self, limit: int) -> list[QueuedEvent]: ...


class SubjectKeyStore(Protocol):
    """Per-subject keys of the audit trail's subject references (service/audit/subjects.py).

    Synchronous, unlike every other role: it is called from inside the log pipeline, which
    cannot await. One short command per call (and few calls: the audit layer caches keys)."""

    def subject_key(self, ref: str, fresh: bytes, ttl: int) -> bytes:
        """The key under ``ref`` (an erasure reference), or ``fresh`` stored there if there is
        none, atomically; the key then lives ``ttl`` seconds from now (never less)."""

    def shred_subject_key(self, ref: str) -> bool:
        """Delete the key under ``ref``; True if there was one."""


class PageStore(Protocol):
    """The hosted check page: single-use links and the page sessions they open, each under the
    SHA-256 of its token (``digest``), never the token."""

    async def put_link(self, digest: str, link: PageLink, ttl: int) -> None:
        """Store a new link; raises ValueError if the digest is already taken."""

    async def take_link(self, digest: str) -> PageLink | None:
        """The link, and it is gone (atomic): of concurrent takers exactly one gets it."""

    async def put_session(self, digest: str, session: PageSession, ttl: int) -> None:
        """Store or replace a page session; ``ttl`` applies from now."""

    async def get_session(self, digest: str) -> PageSession | None: ...

    async def drop_session(self, digest: str) -> bool:
        """Remove the session (the user went back to the app); True if it existed."""

    async def erase_pages(self, check_id: str) -> int:
        """Remove every link and session of the check (erasure by sid); how many were stored.
        Links and sessions are indexed under their check id when written, for this."""


class ContentStore(Protocol):
    """Items of adult content: each in one key (its publishability is one read), an index of the
    items naming each sid (cascades and erasure), and each client's list of unpublishable items."""

    async def create_item(self, item: ContentItem, ttl: int) -> bool:
        """Store a new item and index it under each of its people's sids; False (nothing written)
        when the id is already taken."""

    async def get_item(self, content_id: str) -> ContentItem | None:
        """The item with everything publishability needs, in one round trip."""

    async def update_item(self, item: ContentItem) -> bool:
        """Compare-and-set: write ``item`` only while the stored version equals ``item.version``;
        on success the stored (and given) version is incremented. Keeps the key's remaining TTL.
        False on a lost race or a missing item."""

    async def items_naming(self, sid: str) -> list[str]:
        """The ids of the items indexed under ``sid``, sorted; some may have expired already."""

    async def forget_subject(self, sid: str) -> None:
        """Drop the sid's item index (erasure: the items themselves no longer name it)."""

    async def list_item(self, client_id: str, content_id: str, day: date | None, ttl: int) -> None:
        """Place the item in the client's list of unpublishable items at ``day`` (the day it stopped
        or stops being publishable), or take it out (None)."""

    async def unpublishable(self, client_id: str, before: date, cursor: str | None, limit: int) -> ListedPage:
        """The client's listed items with a day < before, ordered by (day, content id), paged."""


class StoreHealth(Protocol):
    """The backend itself: whether it answers (readiness), and closing it at shutdown."""

    async def ping(self) -> None:
        """Raise if the backend cannot be reached."""

    async def close(self) -> None: ...
