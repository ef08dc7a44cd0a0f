"""The codec's stored text and strictness, over generated records: the text is the compact JSON
the store has always held (the Redis store swaps a record by comparing stored text, so a record
written before an upgrade must encode the same after it), and every field is required but those
a later version added."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.store.codec import ADDED_LATER, decode, encode
from service.store.records import AssuranceRecord, CheckState, Sanction, SignalNote

RECORDS = (CheckState, AssuranceRecord, Sanction)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _reference(obj: Any) -> str:
    """The stored text as the store wrote it before: json.dumps of the plain fields."""
    return json.dumps(_plain(obj), separators=(",", ":"), ensure_ascii=False)


records = st.one_of(*(st.from_type(cls) for cls in RECORDS))


@settings(max_examples=300, deadline=None)
@given(records)
def test_the_stored_text_is_unchanged_and_reads_back_equal(record: Any) -> None:
    raw = encode(record)
    assert raw == _reference(record)
    assert decode(type(record), raw) == record
    assert decode(type(record), raw.encode()) == record


def _fields(cls: type) -> list[tuple[type, str]]:
    return [(cls, f.name) for f in dataclasses.fields(cls)]


@pytest.mark.parametrize(("cls", "name"), [pair for cls in RECORDS for pair in _fields(cls)])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_a_field_may_be_missing_only_when_a_later_version_added_it(
    cls: type, name: str, data: st.DataObject
) -> None:
    stored = json.loads(encode(data.draw(st.from_type(cls))))
    del stored[name]
    if name in ADDED_LATER.get(cls, frozenset()):
        default = next(f.default for f in dataclasses.fields(cls) if f.name == name)
        assert getattr(decode(cls, json.dumps(stored)), name) == default
    else:
        with pytest.raises(ValueError, match=f"missing fields \\['{name}'\\]"):
            decode(cls, json.dumps(stored))


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(SignalNote)])
def test_a_signal_note_field_may_be_missing_only_when_a_later_version_added_it(name: str) -> None:
    note = SignalNote(
        level="basic", lo=18, hi=None, method_class="facial_estimation", upper_level="basic", at_most=30
    )
    check = json.loads(encode(CheckState(**{**_check_fields(), "signals": [note]})))
    del check["signals"][0][name]
    if name in ADDED_LATER[SignalNote]:
        (read,) = decode(CheckState, json.dumps(check)).signals
        assert getattr(read, name) == next(
            f.default for f in dataclasses.fields(SignalNote) if f.name == name
        )
    else:
        with pytest.raises(ValueError, match=f"CheckState.signals.0.{name}"):
            decode(CheckState, json.dumps(check))


def _check_fields() -> dict[str, Any]:
    return {
        "check_id": "chk_x",
        "client_id": "acme-app",
        "sid": "sid_x",
        "jurisdiction": "default",
        "purpose": "signup",
        "policy_version": "pol",
        "created_at": 1,
        "expires_at": 2,
    }


@settings(max_examples=100, deadline=None)
@given(
    record=st.from_type(AssuranceRecord),
    name=st.sampled_from([f.name for f in dataclasses.fields(AssuranceRecord)]),
)
def test_a_field_of_the_wrong_type_is_refused(record: AssuranceRecord, name: str) -> None:
    stored = json.loads(encode(record))
    # A list fits no field of a record: each is a string, an integer, a day or null.
    stored[name] = [1]
    with pytest.raises(ValueError, match=f"AssuranceRecord.{name}: "):
        decode(AssuranceRecord, json.dumps(stored))
