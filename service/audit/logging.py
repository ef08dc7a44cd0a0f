"""structlog set-up: JSON lines in production, console on a TTY, always through the PII guard.

Audit events (``audit=True``) are sealed into the hash chain by the last processor, which
writes them to the log stream or to the audit file (see service/audit/chain.py).
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import Processor

from service.audit.chain import AuditChain, AuditStream, new_chain_id
from service.audit.guard import pii_guard, redact_urls

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


def configure_logging(
    *,
    fmt: str = "json",
    level: str = "info",
    sink: TextIO | None = None,
    audit: AuditStream | None = None,
) -> AuditStream:
    """Configure structlog; returns the audit stream (close it at shutdown to checkpoint)."""
    renderer: Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    else:
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
    stream = audit or AuditStream(AuditChain(new_chain_id()))
    stream.set_renderer(renderer)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            pii_guard,
            redact_urls,
            stream,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.WriteLoggerFactory(file=sink or sys.stdout),
        # Loggers are created once per component; caching skips re-binding on every event.
        cache_logger_on_first_use=True,
    )
    return stream


def _dumps(obj: Any, **_: Any) -> str:
    # orjson: several times faster than json, and log lines are on every request's path.
    return orjson.dumps(obj, default=str).decode()


def get_logger(name: str = "ageband") -> Any:
    return structlog.get_logger(name)
