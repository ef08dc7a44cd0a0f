"""structlog set-up: JSON lines in production, console on a TTY, always through the PII guard.

Audit events (``audit=True``) are sealed into the hash chain by the last processor, which
writes them to the log stream or to the audit file (see service/audit/chain.py).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import Processor

from service.audit.chain import AuditChain, AuditStream, new_chain_id
from service.audit.guard import pii_guard

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


def configure_logging(
    *,
    fmt: str = "json",
    level: str = "info",
    sink: TextIO | None = None,
    audit: AuditStream | None = None,
) -> AuditStream:
    """Configure structlog; returns the audit stream (close it at shutdown to checkpoint)."""
    renderer: Processor = _console(colors=sys.stderr.isatty()) if fmt == "console" else render_json
    stream = audit or AuditStream(AuditChain(new_chain_id()))
    stream.set_renderer(renderer)
    # Every request writes at least one line, so the chain is kept short: no context-variable
    # merge (nothing binds any) and a timestamp that formats the date once per second.
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            SecondCachingTimestamper(),
            stream.subjects,  # sid -> sid_hash, before the guard (which would redact a sid)
            pii_guard,
            stream,  # also drops URL queries (guard.redact_urls), from the bytes it serialises
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.WriteLoggerFactory(file=sink or sys.stdout),
        # Loggers are created once per component; caching skips re-binding on every event.
        cache_logger_on_first_use=True,
    )
    return stream


def _console(*, colors: bool) -> Processor:
    console = structlog.dev.ConsoleRenderer(colors=colors)
    # It takes keys out of the event it renders: it gets a copy, so that a line found to quote a
    # URL can be rendered again from the whole event, redacted (AuditStream).
    return lambda logger, name, event: console(logger, name, dict(event))


def render_json(_: Any, __: str, event: MutableMapping[str, Any]) -> str:
    # orjson: several times faster than json, and log lines are on every request's path.
    return orjson.dumps(event, default=str).decode()


class SecondCachingTimestamper:
    """structlog's ``TimeStamper(fmt="%Y-%m-%dT%H:%M:%S.%fZ", utc=True)`` with the text up to
    the second formatted once per second: ISO 8601 UTC with microseconds
    (``2026-11-22T12:30:01.123456Z``). What that saves per request is in ``bench/README.md``.
    ``now`` is the time source (seconds since the epoch), injectable for tests."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        # (second, "YYYY-MM-DDTHH:MM:SS"), replaced whole: a reader on another thread never
        # pairs a second with another second's text.
        self._stamp: tuple[int, str] = (-1, "")

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        now = self._now()
        second = int(now)
        stamp = self._stamp
        if stamp[0] != second:
            stamp = self._stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        # %-formatting of the float: a third of the cost of int() and an f-string's :06d.
        event["timestamp"] = "%s.%06dZ" % (stamp[1], (now - second) * 1_000_000)  # noqa: UP031
        return event


def get_logger(name: str = "ageband") -> Any:
    return structlog.get_logger(name)
