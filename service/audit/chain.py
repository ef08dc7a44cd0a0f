"""The tamper-evident audit stream: every audit event is a link in a per-process hash chain.

Each event (``audit: true``) gets ``chain`` (this process's chain id), ``seq`` (0, 1, ...),
``prev`` (the previous event's hash, zeros for the first) and ``hash``: SHA-256 over the
canonical JSON of the event without ``hash`` (keys sorted, no whitespace, UTF-8). Editing,
dropping or reordering any event breaks every later link. Truncating the tail leaves a valid
chain, so the head is checkpointed (``audit.checkpoint`` with ``head`` and ``count``) every
N events or T seconds and at shutdown, optionally also into a separate file.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import Processor

from service.audit.checkpoint_keys import CheckpointSigner
from service.audit.guard import holds_url, redact_urls
from service.audit.subjects import SubjectPseudonyms

GENESIS = "0" * 64
CHECKPOINT = "audit.checkpoint"
CHAIN_KEYS = ("chain", "seq", "prev", "hash")
_OPERATOR_LEVELS = frozenset({"warning", "error"})


def canonical(event: Mapping[str, Any]) -> bytes:
    """The bytes a link's hash covers: the event without ``hash``, keys sorted, compact JSON."""
    body = {k: v for k, v in event.items() if k != "hash"} if "hash" in event else event
    return orjson.dumps(body, default=str, option=orjson.OPT_SORT_KEYS)


def event_hash(event: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def dumps(event: Mapping[str, Any]) -> str:
    return orjson.dumps(event, default=str).decode()


def new_chain_id(name: str | None = None) -> str:
    """``<name>-<random>``: a replica name stays readable, restarts still get their own chain."""
    suffix = secrets.token_hex(8)
    return f"{name}-{suffix}" if name else suffix


class AuditChain:
    """The chain state of one process. Thread-safe: links are sealed one at a time."""

    def __init__(
        self,
        chain_id: str,
        *,
        every: int = 1000,
        seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
        signer: CheckpointSigner | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.signer = signer  # signs every checkpoint (service/audit/checkpoint_keys.py)
        self.head = GENESIS
        self.count = 0
        self._every = every
        self._seconds = seconds
        self._monotonic = monotonic
        self._since_checkpoint = 0
        self._last_checkpoint = monotonic()
        self._lock = threading.Lock()

    def seal(self, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        with self._lock:
            return self._seal(event)

    def _seal(self, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if event.get("event") == CHECKPOINT:
            event["head"], event["count"] = self.head, self.count
            self._since_checkpoint = 0
            self._last_checkpoint = self._monotonic()
        else:
            self._since_checkpoint += 1
        event.pop("hash", None)
        event["chain"] = self.chain_id
        event["seq"] = self.count
        event["prev"] = self.head
        checkpoint = event.get("event") == CHECKPOINT
        if checkpoint:
            event.pop("kid", None)
            event.pop("sig", None)
        body = canonical(event)
        if holds_url(body):  # a URL's query goes before the hash covers the event
            body = canonical(redact_urls(event))
        if checkpoint and self.signer is not None:
            # Inside the hash: the link vouches for its signature too.
            event["kid"], event["sig"] = self.signer.kid, self.signer.sign(event)
            body = canonical(event)
        event["hash"] = self.head = hashlib.sha256(body).hexdigest()
        self.count += 1
        return event

    def checkpoint_due(self) -> bool:
        if self._since_checkpoint == 0:
            return False  # nothing new to vouch for
        return (
            self._since_checkpoint >= self._every
            or self._monotonic() - self._last_checkpoint >= self._seconds
        )

    def checkpoint(self, reason: str) -> MutableMapping[str, Any]:
        """A sealed checkpoint event (not yet written)."""
        event: dict[str, Any] = {
            "event": CHECKPOINT,
            "audit": True,
            "level": "info",
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "reason": reason,
        }
        return self.seal(event)


class AuditStream:
    """The last structlog processor: renders every event, and seals audit events into the chain.

    Audit events go to the log stream (JSON lines, stdout by default) or, when ``file`` is
    set, to that file (warnings also to the log stream, as plain lines). A due checkpoint is
    written right after the event that made it due, in the same write, so nothing can come
    between them.
    """

    def __init__(
        self,
        chain: AuditChain,
        *,
        file: Path | None = None,
        checkpoint_file: Path | None = None,
    ) -> None:
        self.chain = chain
        # Set up with the stream, so that every logger configured with it has it; handed the
        # subject keys once the store exists (until then a sid is dropped, never written).
        self.subjects = SubjectPseudonyms()
        self._renderer: Processor = _render
        # Opened at the first write: an app that is built but never run leaves no file behind.
        self._paths = {"file": file, "checkpoints": checkpoint_file}
        self._open: dict[str, TextIO] = {}
        self._write_lock = threading.Lock()

    def set_renderer(self, renderer: Processor) -> None:
        self._renderer = renderer

    def __call__(self, logger: Any, name: str, event: MutableMapping[str, Any]) -> Any:
        if event.get("audit") is not True:
            line = self._renderer(logger, name, event)
            if holds_url(line):  # rare: the line quotes a URL, whose query goes before it is written
                line = self._renderer(logger, name, redact_urls(event))
            return line
        with self._write_lock:  # seal and write in one step: file order is chain order
            sealed = self.chain.seal(event)
            # The common case, on every audited request: one event, no checkpoint to add.
            if sealed.get("event") != CHECKPOINT and not self.chain.checkpoint_due():
                if self._paths["file"] is None:
                    return self._renderer(logger, name, sealed)
                self._append("file", [sealed])
                return self._for_operators(logger, name, sealed)
            events = [sealed]
            if self.chain.checkpoint_due():
                events.append(self.chain.checkpoint("interval"))
            self._note_checkpoints(events)
            if self._paths["file"] is None:
                return "\n".join(str(self._renderer(logger, name, dict(e))) for e in events)
            self._append("file", events)
        return self._for_operators(logger, name, sealed)

    def _for_operators(self, logger: Any, name: str, event: MutableMapping[str, Any]) -> Any:
        """An audit warning (a refused policy or key reload) written to the audit file is the
        operator's business too: a copy goes to the log stream, as a plain line outside the chain
        (no ``audit`` flag or links, so a reviewer reading both sees no stray or doubled link)."""
        if event.get("level") not in _OPERATOR_LEVELS:
            raise structlog.DropEvent
        plain = {k: v for k, v in event.items() if k != "audit" and k not in CHAIN_KEYS}
        return self._renderer(logger, name, plain)

    def close(self) -> None:
        """Checkpoint at shutdown, so a reviewer sees where an orderly run ended."""
        if self.chain.count:
            # Through the logger, so it takes the same path (and lock) as every other event.
            audit_logger().info(CHECKPOINT, audit=True, reason="shutdown")
        with self._write_lock:
            for f in self._open.values():
                f.close()
            self._open.clear()

    def _note_checkpoints(self, events: list[MutableMapping[str, Any]]) -> None:
        if self._paths["checkpoints"] is not None:
            self._append("checkpoints", [e for e in events if e.get("event") == CHECKPOINT])

    def _append(self, which: str, events: list[MutableMapping[str, Any]]) -> None:
        if not events:
            return
        f = self._open.get(which)
        if f is None:
            path = self._paths[which]
            assert path is not None  # noqa: S101 - callers check
            path.parent.mkdir(parents=True, exist_ok=True)
            f = self._open[which] = path.open("a", encoding="utf-8")
        f.write("".join(dumps(e) + "\n" for e in events))
        f.flush()


def _render(_: Any, __: str, event: MutableMapping[str, Any]) -> str:
    return dumps(event)


def audit_logger() -> Any:
    """A logger that no level filter silences: audit events are records, not diagnostics."""
    return structlog.wrap_logger(None, wrapper_class=structlog.make_filtering_bound_logger(0))
