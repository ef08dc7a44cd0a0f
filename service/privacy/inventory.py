"""The data inventory, generated from the code: every stored field, why, where, for how long.

Fields of JSON values come from the dataclasses in service/store/records.py, whose field
metadata holds each purpose (the single source of truth); key classes, TTL sources and
restart needs come from KEY_CLASSES in service/store/key_classes.py; webhook event fields from
EVENT_FIELDS in service/store/events.py. Values that are not JSON objects (counters, markers,
index members) are described here, per key class.

Personal data: anything about a subject, pseudonymous or not (GDPR Art. 4(5): pseudonymised
data is still personal data). Only fields that describe the system (versions, policy
hashes, counters of our own) are not.
"""

from __future__ import annotations

import dataclasses
import re
import types
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, Union, get_args, get_origin, get_type_hints

from service.audit.detectors import OWN_DATE_FORMATS
from service.store.content import ContentItem
from service.store.events import EVENT_FIELDS
from service.store.key_classes import KEY_CLASSES, KeyClass
from service.store.records import AssuranceRecord, CheckState, PageLink, PageSession, Sanction
from service.store.reviews import Appeal, Connection, GuardianCode, GuardianLink, RecheckRequest


@dataclass(frozen=True, slots=True)
class StoredField:
    name: str  # dotted path; ``[]`` marks list items, e.g. ``signals[].lo``
    type: str
    purpose: str | None  # None: undocumented (a test fails)
    personal: bool


@dataclass(frozen=True, slots=True)
class ValueShape:
    """How a key class's value is stored and which fields it holds."""

    # json | packed_record | integer | epoch_seconds | marker | sorted_set | set | stream | list
    encoding: str
    fields: tuple[StoredField, ...] = ()
    record: type | None = None  # the dataclass a JSON value decodes to
    enumerated: bool = True  # False: the value's fields are not listed here (see ``note``)
    note: str = ""


def _f(name: str, type_: str, purpose: str, *, personal: bool = True) -> StoredField:
    return StoredField(name, type_, purpose, personal)


def _json(cls: type) -> ValueShape:
    return ValueShape("json", tuple(dataclass_fields(cls)), record=cls)


def dataclass_fields(cls: type, prefix: str = "") -> list[StoredField]:
    """Every field of a stored dataclass, nested ones flattened, with its metadata."""
    hints = get_type_hints(cls)
    out: list[StoredField] = []
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        tp = hints[f.name]
        purpose = f.metadata.get("purpose")
        out.append(StoredField(name, _type_name(tp), purpose, bool(f.metadata.get("personal", True))))
        inner = _list_item(tp)
        if inner is not None and dataclasses.is_dataclass(inner):
            out.extend(dataclass_fields(inner, f"{name}[]."))  # type: ignore[arg-type]
    return out


def _list_item(tp: Any) -> Any:
    return get_args(tp)[0] if get_origin(tp) is list else None


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        return f"{_type_name(inner[0])} | null"
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if dataclasses.is_dataclass(tp):
        return "object"
    if tp is date:
        return "day"
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "enum: " + " | ".join(str(m.value) for m in tp)
    return {str: "string", int: "integer", bool: "boolean"}.get(tp, getattr(tp, "__name__", str(tp)))


_SUBJECT_PARTS = {
    "sid": _f("sid", "string", "the subject's pairwise pseudonym"),
    "check_id": _f("check_id", "string", "the random id of a check"),
    "content_id": _f("content_id", "string", "keyed hash of an app's content reference (per client)"),
    "client_id": _f("client_id", "string", "the app (a configured client id)", personal=False),
    "sha256": _f("sha256", "hex", "SHA-256 of a token id, nonce or state: never the value", personal=False),
    "subject": _f("subject", "string", "a sid, or a keyed hash of a device or IP address"),
    "device": _f("device", "string", "a keyed hash (per client) of the device id the app relays"),
    "scope": _f("scope", "string", "which limit the counter is for (a code)", personal=False),
    "prefix": _f("prefix", "string", "the deployment's key prefix", personal=False),
    "code_ref": _f("code_ref", "string", "a keyed hash of a guardian's one-time code: never the code"),
    "nonce_ref": _f("nonce_ref", "string", "a keyed hash of a trusted connection's pair nonce"),
    "link": _f("link", "string", "a keyed hash of a child's and a guardian's sids: names neither"),
    "erasure_ref": _f("erasure_ref", "string", "a keyed hash of a sid (erasure reference), never the sid"),
}

_EVENT_FIELDS = tuple(StoredField(f.name, f.type, f.purpose, f.personal) for f in EVENT_FIELDS)

SHAPES: dict[str, ValueShape] = {
    "check": _json(CheckState),
    "page_link": _json(PageLink),
    "page_session": _json(PageSession),
    # Packed (service/store/record_codec.py): the same fields in ~40 characters, the sid read
    # from the key name; records written before the packed form are JSON until their next write.
    "record": ValueShape("packed_record", tuple(dataclass_fields(AssuranceRecord)), record=AssuranceRecord),
    "sanction": _json(Sanction),
    "device_sanction": _json(Sanction),
    "recheck_request": _json(RecheckRequest),
    "appeal": _json(Appeal),
    "guardian_code": _json(GuardianCode),
    # The key name is a keyed hash of both sids; the value names neither.
    "guardian_link": _json(GuardianLink),
    "connection": _json(Connection),
    "connections": ValueShape(
        "set", (_f("nonce_ref", "string", "member: a keyed hash of a connection's pair nonce"),)
    ),
    "guardian_links": ValueShape(
        "set", (_f("link", "string", "member: a keyed hash of a guardian link this sid is part of"),)
    ),
    "subject_checks": ValueShape(
        "set", (_f("check_id", "string", "member: a check started for the subject (found by erasure)"),)
    ),
    "page_index": ValueShape(
        "set",
        (_f("digest", "string", "member: the SHA-256 of one of the check's page tokens (found by erasure)"),),
    ),
    "check_attempts": ValueShape("integer", (_f("count", "integer", "attempts claimed within the check"),)),
    "revocation": ValueShape(
        "epoch_seconds",
        (_f("revoked_at", "integer", "tokens issued at or before this second are void"),),
        note="nothing but a timestamp: it must outlive the record to void outstanding tokens",
    ),
    "due_index": ValueShape(
        "sorted_set",
        (
            _f("sid", "string", "member: a subject whose re-check is due"),
            _f("recheck_at", "day", "score: the day the re-check is due"),
        ),
    ),
    "single_use": ValueShape("marker", (_f("marker", "integer", "seen once", personal=False),)),
    "abuse_counter": ValueShape("integer", (_f("count", "integer", "attempts or failures in the window"),)),
    "abuse_set": ValueShape("set", (_f("method", "string", "member: a method name tried after a failure"),)),
    "timers": ValueShape(
        "sorted_set",
        (
            _f("sid", "string", "member: a subject with a lifecycle step ahead"),
            _f("day", "day", "score: the day of its next lifecycle step"),
        ),
    ),
    "audit_subject_key": ValueShape(
        "string",
        (_f("key", "hex", "random 256-bit key of the subject's audit sid_hash", personal=False),),
        note="holds no identity; deleted by erasure, which leaves the subject's audit events unlinkable",
    ),
    "content_item": _json(ContentItem),
    "subject_content": ValueShape(
        "set", (_f("content_id", "string", "member: an item of adult content naming the subject"),)
    ),
    "content_list": ValueShape(
        "sorted_set",
        (
            _f("content_id", "string", "member: an item of the client's that is not publishable"),
            _f("since", "day", "score: the day it stopped (or stops) being publishable"),
        ),
    ),
    "event_stream": ValueShape(
        "stream", _EVENT_FIELDS, note="one entry per event; settled entries are deleted from the stream"
    ),
    "event_retries": ValueShape(
        "sorted_set",
        (*_EVENT_FIELDS, _f("retry_at", "epoch_ms", "score: when to try the delivery again", personal=False)),
        note="members are the event's fields as JSON",
    ),
    "event_dead_letters": ValueShape(
        "list", _EVENT_FIELDS, note="members are the event's fields as JSON; the newest 10,000 are kept"
    ),
}


@dataclass(frozen=True, slots=True)
class KeyClassEntry:
    key_class: KeyClass
    shape: ValueShape | None  # None: no shape known for this key class (a test fails)
    name_parts: tuple[StoredField, ...]

    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.shape.fields) if self.shape else frozenset()

    def own_dates(self) -> dict[str, str]:
        """Fields the service fills with a date of its own (``day`` or ``timestamp``): the only
        places where a date is not a finding of the date-of-birth detector."""
        fields = self.shape.fields if self.shape else ()
        kinds = {f.name: f.type.removesuffix(" | null") for f in fields}
        return {name: kind for name, kind in kinds.items() if kind in OWN_DATE_FORMATS}

    def as_dict(self) -> dict[str, Any]:
        kc, shape = self.key_class, self.shape
        return {
            "key_class": kc.name,
            "pattern": kc.pattern,
            "holds": kc.holds,
            "purpose": kc.purpose,
            "retention": kc.ttl_source,
            "survives_restart": kc.survives_restart,
            "on_loss": kc.on_loss,
            "encoding": shape.encoding if shape else None,
            "fields_enumerated": bool(shape and shape.enumerated),
            "note": shape.note if shape else "no value shape documented",
            "personal": any(f.personal for f in (*self.name_parts, *(shape.fields if shape else ()))),
            "key_name_parts": [dataclasses.asdict(p) for p in self.name_parts],
            "fields": [dataclasses.asdict(f) for f in (shape.fields if shape else ())],
        }


def _name_parts(kc: KeyClass) -> tuple[StoredField, ...]:
    names = re.findall(r"<([a-z0-9_]+)>", kc.pattern)
    unknown = _f("?", "string", "undocumented key-name part")
    return tuple(_SUBJECT_PARTS.get(n, dataclasses.replace(unknown, name=n)) for n in names if n != "prefix")


def inventory() -> list[KeyClassEntry]:
    return [KeyClassEntry(kc, SHAPES.get(kc.name), _name_parts(kc)) for kc in KEY_CLASSES]


def inventory_document() -> dict[str, Any]:
    """The inventory as served by the API and printed by the CLI."""
    return {
        "personal_data_rule": (
            "personal: the field is about a subject, even if only through a pseudonym "
            "(GDPR Art. 4(5)); every key has a TTL"
        ),
        "key_classes": [e.as_dict() for e in inventory()],
    }


def undocumented() -> list[str]:
    """What the inventory cannot explain: key classes without a shape, fields without a purpose."""
    gaps = [f"key class {e.key_class.name}: no value shape" for e in inventory() if e.shape is None]
    gaps += [
        f"key class {e.key_class.name}: field {f.name} has no purpose"
        for e in inventory()
        if e.shape
        for f in e.shape.fields
        if not f.purpose
    ]
    gaps += [
        f"key class {e.key_class.name}: key-name part {p.name} undocumented"
        for e in inventory()
        for p in e.name_parts
        if p.type == "string" and p.purpose == "undocumented key-name part"
    ]
    return gaps
