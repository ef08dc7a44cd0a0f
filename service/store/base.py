"""The Store protocol. One contract suite (tests/store/test_contract.py) runs on every backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from service.store.records import AssuranceRecord, CheckState


@dataclass(frozen=True, slots=True)
class DueEntry:
    sid: str
    recheck_at: date


@dataclass(frozen=True, slots=True)
class DuePage:
    entries: list[DueEntry]
    cursor: str | None  # opaque; None when there is nothing more


class Store(Protocol):
    """Every key has a TTL and a pseudonymous name. All ttl arguments are seconds (> 0)."""

    # Checks -----------------------------------------------------------------
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

    # Records ----------------------------------------------------------------
    async def put_record(self, record: AssuranceRecord, ttl: int) -> None:
        """Store the record and (re)index it in its client's due index by recheck_at."""

    async def get_record(self, sid: str) -> AssuranceRecord | None: ...

    async def delete_record(self, sid: str, client_id: str) -> bool:
        """Remove the record and its due-index entry; True if a record existed."""

    async def due(self, client_id: str, before: date, cursor: str | None, limit: int) -> DuePage:
        """The client's sids with recheck_at < before, ordered by (recheck_at, sid).
        Entries whose record no longer exists are skipped."""

    # Revocation -------------------------------------------------------------
    async def revoke(self, sid: str, revoked_at: int, ttl: int) -> None:
        """Remember that tokens for ``sid`` issued at or before ``revoked_at`` are void."""

    async def revoked_at(self, sid: str) -> int | None: ...

    # Single use ---------------------------------------------------------------
    async def use_once(self, key: str, ttl: int) -> bool:
        """True the first time a key is used within its TTL, False afterwards (atomic)."""

    # Operations ---------------------------------------------------------------
    async def ping(self) -> None:
        """Raise if the backend cannot be reached."""

    async def close(self) -> None: ...
