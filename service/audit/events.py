"""Data-minimisation events: one per step, naming kinds, sizes and fields, never values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog


class Audit:
    """Emits audit events. Every event carries check id, sid, client and policy version."""

    def __init__(self) -> None:
        self._log = structlog.get_logger("ageband.audit")

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
        self._log.info(event, audit=True, client=client, sid=sid, check_id=check_id, pol=pol, **facts)

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
