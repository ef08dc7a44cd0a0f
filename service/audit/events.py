"""Data-minimisation events: one per step, naming kinds, sizes and fields, never values."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from service.audit.chain import audit_logger


class Audit:
    """Emits audit events. Every event carries check id, sid, client and policy version."""

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

    def token_issued(self, *, claims: Iterable[str], kid: str, **ctx: Any) -> None:
        self.emit("token.issued", claims=sorted(claims), kid=kid, **ctx)

    def subject_erased(self, *, sid_ref: str, **ctx: Any) -> None:
        """Erasure is audited by ``sid_ref`` (see :func:`sid_ref`), never by the erased sid."""
        self.emit("subject.erased", sid_ref=sid_ref, **ctx)


def sid_ref(key: bytes, sid: str) -> str:
    """A keyed hash of a sid for the audit trail of its erasure.

    Someone who holds the key and a sid (the operator, answering a data subject or a
    regulator) can find the erasure event; a reader of the log alone cannot tell which sid
    it was, nor link it to the sid's earlier events.
    """
    mac = hmac.new(key, b"ageband:audit:erasure\x00" + sid.encode(), hashlib.sha256)
    return "sref_" + mac.hexdigest()[:32]
