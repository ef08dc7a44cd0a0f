"""The PII guard: a structlog processor that lets only allowlisted keys through.

Anything else is redacted, whatever it holds. Tracebacks keep frames (file, line, function)
and the exception type, never locals and never the message, which could quote input.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping, MutableMapping
from typing import Any

REDACTED = "[redacted]"

# Every key an event may carry. Values under these keys are ours: codes, pseudonyms,
# counts, names of fields (never their contents).
ALLOWED_KEYS = frozenset(
    {
        # structlog and request line
        "event", "level", "timestamp", "logger", "exception", "audit",
        "method", "route", "status", "duration_ms", "request_id",
        # audit context
        # (no "sid": service.audit.subjects turns it into sid_hash first; one left is redacted)
        "check_id", "sid_hash", "client", "pol", "jur", "purpose",
        # audit facts: kinds, sizes, names, outcomes
        "kind", "size", "provider", "method_class", "attributes", "fields", "ttl",
        "claims", "outcome", "reason", "band", "level_name", "next_method", "attempt",
        "kid", "alg", "files", "jurisdictions", "version", "errors", "count",
        "backend", "warning", "detail", "path_template", "keys", "offset",
        # hash chain and checkpoints (added after the guard; listed so callers cannot forge them)
        "chain", "seq", "prev", "hash", "head", "sig",
        # erasure: a keyed hash of the sid, never the sid itself; how many queued events went
        "sid_ref", "events",
        # decisions: policy names (action, rule) and counts, never who the parties are
        "action", "rule", "allowed", "denied", "targets",
        # abuse and webhooks: signal codes, sanction terms, event ids, delivery outcomes; a device
        # or IP appears only as its scope name ("device", "ip"), never as a value or a hash
        "signal", "scope", "locked_until", "min_level", "tokens_revoked", "event_id",
        "event_type", "http_status", "consumer", "redelivered",
        # the address the service listens on (service.listening), never a caller's
        "host", "port",
        # a refused move to an older band: the bands (codes) and the method names that would do
        "band_from", "band_to", "methods",
        # re-check requests and appeals: their deadline (a time of ours, never the user's)
        "deadline",
        # decisions between users with a trusted connection both confirmed
        "relationship",
        # adult content: the item (a keyed hash), a person's place in it and role, reason codes;
        # never a depicted person's sid
        "content_id", "person", "role", "reasons", "publishable", "people",
        # review support: how many frames and faces were looked at, and what was flagged
        "frames", "faces", "apparent_minors", "unassessed", "review_required",
    }
)  # fmt: skip

# A URL with a query string: OIDC codes, states and tokens travel there.
_URL_QUERY_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#\"']*)\?[^\s#\"']*")


def pii_guard(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if ALLOWED_KEYS.issuperset(event):  # the common case, decided in one C call
        return event
    # First: the allowlist below would turn exc_info into a string and lose the traceback.
    exc = event.pop("exc_info", None)
    for key in list(event):
        if key not in ALLOWED_KEYS:
            event[key] = REDACTED
    if exc:
        event["exception"] = _safe_traceback(exc)
    return event


def redact_urls(event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop the query of any URL in any value: allowlisted keys may still quote a URL.

    Called by the audit stream only once a serialisation it makes anyway (the line, or the bytes
    an audit link's hash covers) holds ``://``: almost no event holds a URL, and the bytes say
    whether one does at no extra cost."""
    for key, value in event.items():
        event[key] = _without_queries(value)
    return event


def holds_url(rendered: object) -> bool:
    """Whether a serialised event may quote a URL (``redact_urls`` then has work to do)."""
    if isinstance(rendered, str):
        return "://" in rendered
    if isinstance(rendered, bytes | bytearray):
        return b"://" in rendered
    return True  # a renderer's mapping or tuple, which no search covers: redact to be sure


def _without_queries(value: Any) -> Any:
    if isinstance(value, str):
        return _URL_QUERY_RE.sub(r"\1?" + REDACTED, value) if "://" in value else value
    if isinstance(value, Mapping):
        return {k: _without_queries(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_queries(v) for v in value]
    return value


def _safe_traceback(exc_info: Any) -> Mapping[str, Any]:
    if exc_info is True:
        import sys

        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    etype, _, tb = exc_info
    frames = [f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb, limit=30)]
    return {"type": getattr(etype, "__name__", "Exception"), "frames": frames}
