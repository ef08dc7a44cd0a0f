"""Data-minimisation events: one per step, naming kinds, sizes and fields, never values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from service.audit.chain import audit_logger
from service.audit.subjects import sid_ref

__all__ = ["Audit", "sid_ref"]


class Audit:
    """Emits audit events. Every event carries check id, subject, client and policy version; the
    sid given here is written as its shreddable reference (service/audit/subjects.py)."""

    def __init__(self) -> None:
        self._proxy = audit_logger()  # never silenced by the log level
        self._log: Any = None  # bound at the first event, as structlog caches it (a proxy costs)

    def emit(
        self,
        event: str,
        *,
        client: str | None = None,
        sid: str | None = None,
        check_id: str | None = None,
        pol: str | None = None,
        **facts: Any,
    ) -> None:
        log = self._log
        if log is None:
            log = self._log = self._proxy.bind()
        log.info(event, audit=True, client=client, sid=sid, check_id=check_id, pol=pol, **facts)

    def evidence_received(self, *, kind: str, size: int, **ctx: Any) -> None:
        self.emit("evidence.received", kind=kind, size=size, **ctx)

    def evidence_discarded(self, *, kind: str, **ctx: Any) -> None:
        self.emit("evidence.discarded", kind=kind, **ctx)

    def signal_derived(self, *, attributes: Iterable[str], **ctx: Any) -> None:
        self.emit("signal.derived", attributes=sorted(attributes), **ctx)

    def record_stored(self, *, fields: Iterable[str], ttl: int, **ctx: Any) -> None:
        self.emit("record.stored", fields=sorted(fields), ttl=ttl, **ctx)

    def token_issued(self, *, claims: Iterable[str], kid: str, client: str, sid: str, pol: str) -> None:
        # On every refresh: the fields named, so no keywords are packed and unpacked on the way.
        self.emit("token.issued", client=client, sid=sid, pol=pol, claims=sorted(claims), kid=kid)

    def subject_erased(self, *, sid_ref: str, **ctx: Any) -> None:
        """Erasure is audited by ``sid_ref`` (see :func:`sid_ref`), never by the erased sid."""
        self.emit("subject.erased", sid_ref=sid_ref, **ctx)
