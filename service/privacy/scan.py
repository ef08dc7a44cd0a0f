"""Scan a live Redis: every key under a prefix against the data inventory and the PII detectors.

Reports key classes, counts and TTL statistics, and as violations: keys of no documented
class, keys without a TTL, JSON fields the inventory does not list, and values (or key
names) that match a PII detector. Findings name the key class and field, never the value;
key names hold only pseudonyms, so they may be shown.
"""

from __future__ import annotations

import contextlib
import json
import re
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from service.audit.detectors import scan_text, scan_value
from service.privacy.inventory import KeyClassEntry, inventory
from service.store.events import stored_field_names
from service.store.key_classes import key_class_of
from service.store.record_codec import FORMAT as RECORD_FORMAT
from service.store.record_codec import decode_record

if TYPE_CHECKING:
    from redis.asyncio import Redis

_EVENT_CLASSES = frozenset({"event_stream", "event_retries", "event_dead_letters"})
MAX_ITEMS = 10_000  # members read per collection key: a scan must not stall a production Redis


@dataclass(frozen=True, slots=True)
class StoreIssue:
    kind: str  # unknown_key_class | no_ttl | field_not_in_inventory | pii_in_store | undecodable_value
    key_class: str | None
    key: str
    detail: str


@dataclass(slots=True)
class ClassStats:
    key_class: str
    keys: int = 0
    without_ttl: int = 0
    ttl_min: int | None = None
    ttl_p50: float | None = None
    ttl_max: int | None = None


@dataclass(slots=True)
class StoreScan:
    prefix: str
    keys: int = 0
    classes: list[ClassStats] = field(default_factory=list)
    violations: list[StoreIssue] = field(default_factory=list)
    fields_seen: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.violations,
            "prefix": self.prefix,
            "keys": self.keys,
            "classes": [asdict(c) for c in self.classes],
            "violations": [asdict(v) for v in self.violations],
            "fields_seen": self.fields_seen,
        }


async def scan_store(client: Redis, prefix: str, on_key: Callable[[int], None] | None = None) -> StoreScan:
    """``on_key`` is told of each key scanned (with 1), for progress."""
    entries = {e.key_class.name: e for e in inventory()}
    result = StoreScan(prefix)
    ttls: dict[str, list[int]] = defaultdict(list)
    seen: dict[str, set[str]] = defaultdict(set)
    async for raw_key in client.scan_iter(match=f"{_glob_escape(prefix)}:*", count=500):
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        result.keys += 1
        if on_key is not None:
            on_key(1)
        kc = key_class_of(key, prefix)
        name = kc.name if kc else "unknown"
        if kc is None:
            result.violations.append(StoreIssue("unknown_key_class", None, key, "no documented key class"))
        ttl = int(await client.ttl(raw_key))
        if ttl == -1:
            result.violations.append(StoreIssue("no_ttl", name, key, "the key never expires"))
        elif ttl >= 0:
            ttls[name].append(ttl)
        else:
            ttls.setdefault(name, [])  # gone since SCAN saw it
        for finding in scan_text(key):
            result.violations.append(
                StoreIssue("pii_in_store", name, key, f"{finding.detector} in the key name")
            )
        await _check_value(client, raw_key, key, entries.get(name), name, result, seen[name])
    for name in sorted(set(ttls) | set(seen)):
        values = ttls.get(name, [])
        forever = sum(1 for v in result.violations if v.kind == "no_ttl" and v.key_class == name)
        result.classes.append(
            ClassStats(
                key_class=name,
                keys=len(values) + forever,
                without_ttl=forever,
                ttl_min=min(values) if values else None,
                ttl_p50=statistics.median(values) if values else None,
                ttl_max=max(values) if values else None,
            )
        )
    result.fields_seen = {k: sorted(v) for k, v in sorted(seen.items()) if v}
    return result


async def _check_value(
    client: Redis,
    raw_key: Any,
    key: str,
    entry: KeyClassEntry | None,
    name: str,
    result: StoreScan,
    seen: set[str],
) -> None:
    kind = _text(await client.type(raw_key))
    texts: list[str] = []
    events = entry is not None and entry.key_class.name in _EVENT_CLASSES
    if kind == "string":
        raw = await client.get(raw_key)
        if raw is None:
            return
        text = _text(raw)
        if entry is not None and entry.shape is not None and entry.shape.encoding == "json":
            _check_json(text, key, entry, name, result, seen)
            return
        if entry is not None and entry.shape is not None and entry.shape.encoding == "packed_record":
            _check_record(text, key, entry, name, result, seen)
            return
        texts.append(text)
    elif kind == "zset":
        texts += [_text(m) for m in await client.zrange(raw_key, 0, MAX_ITEMS - 1)]
    elif kind == "set":
        texts += [_text(m) for m in list(await client.smembers(raw_key))[:MAX_ITEMS]]
    elif kind == "list":
        texts += [_text(m) for m in await client.lrange(raw_key, 0, MAX_ITEMS - 1)]
    elif kind == "hash":
        pairs = (await client.hgetall(raw_key)).items()
        texts += [f"{_text(k)}={_text(v)}" for k, v in pairs]
    elif kind == "stream":
        for _, fields in await client.xrange(raw_key, count=MAX_ITEMS) or []:
            entry_fields = {_text(k): _text(v) for k, v in (fields or {}).items()}
            if entry is not None and events:
                _check_event(entry_fields, key, entry, name, result, seen)
            else:
                texts += [f"{k}={v}" for k, v in entry_fields.items()]
    for text in texts:
        if entry is not None and events and kind in ("zset", "list"):
            _check_event_member(text, key, entry, name, result, seen)
            continue
        for finding in scan_text(text):
            result.violations.append(
                StoreIssue("pii_in_store", name, key, f"{finding.detector} in a {kind} value")
            )


def _check_json(
    text: str, key: str, entry: KeyClassEntry, name: str, result: StoreScan, seen: set[str]
) -> None:
    try:
        value = json.loads(text)
    except ValueError:
        result.violations.append(StoreIssue("undecodable_value", name, key, "not JSON"))
        return
    _check_fields(set(_field_names(value)), key, entry, name, result, seen)
    _check_pii(value, key, entry, name, result)


def _check_record(
    text: str, key: str, entry: KeyClassEntry, name: str, result: StoreScan, seen: set[str]
) -> None:
    """An assurance record, packed or (written before the packed form) JSON."""
    if text[:1] != RECORD_FORMAT:
        _check_json(text, key, entry, name, result, seen)
        return
    try:
        record = decode_record(text, sid="")  # the sid is the key's, checked with the key name
    except ValueError:
        result.violations.append(StoreIssue("undecodable_value", name, key, "not a packed record"))
        return
    value = asdict(record)
    _check_fields(set(_field_names(value)), key, entry, name, result, seen)
    _check_pii(value, key, entry, name, result)


def _check_event_member(
    text: str, key: str, entry: KeyClassEntry, name: str, result: StoreScan, seen: set[str]
) -> None:
    """A retry or dead-letter member: the event's fields as JSON."""
    try:
        fields = json.loads(text)
    except ValueError:
        fields = None
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        result.violations.append(StoreIssue("undecodable_value", name, key, "not an event's fields"))
        return
    _check_event(fields, key, entry, name, result, seen)


def _check_event(
    fields: dict[str, str], key: str, entry: KeyClassEntry, name: str, result: StoreScan, seen: set[str]
) -> None:
    """A queued webhook event: its fields and its JSON body's, against the inventory; its values,
    the body's included, against the detectors (dates only where the event writes its own)."""
    _check_fields(stored_field_names(fields), key, entry, name, result, seen)
    value: dict[str, Any] = dict(fields)
    with contextlib.suppress(ValueError):  # a body that is not JSON is searched as it is
        value["body"] = json.loads(fields.get("body", ""))
    _check_pii(value, key, entry, name, result)


def _check_fields(
    names: set[str], key: str, entry: KeyClassEntry, name: str, result: StoreScan, seen: set[str]
) -> None:
    seen |= names
    if unlisted := sorted(names - entry.field_names()):
        detail = f"fields the inventory does not list: {', '.join(unlisted)}"
        result.violations.append(StoreIssue("field_not_in_inventory", name, key, detail))


def _check_pii(value: Any, key: str, entry: KeyClassEntry, name: str, result: StoreScan) -> None:
    for finding in scan_value(value, own_dates=entry.own_dates()):
        detail = f"{finding.detector} at {finding.path}"
        result.violations.append(StoreIssue("pii_in_store", name, key, detail))


def _field_names(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out.append(f"{prefix}{k}")
            items = v if isinstance(v, list) else []
            for item in items:
                if isinstance(item, dict):
                    out += _field_names(item, f"{prefix}{k}[].")
        return out
    return []


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
