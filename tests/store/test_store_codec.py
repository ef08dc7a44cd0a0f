"""Stored JSON: compact, ISO dates, and strict on the way back."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
from store_factories import NOW, make_check, make_record, random_sid

from service.store.codec import (
    DUE_CURSOR,
    day_score,
    decode,
    decode_cursor,
    encode,
    encode_cursor,
    score_day,
)
from service.store.errors import InvalidCursor
from service.store.records import AssuranceRecord, CheckState, CheckStatus


def test_check_round_trips_as_compact_json() -> None:
    check = make_check(NOW, status=CheckStatus.FAILED, reason="inconsistent", version=4)
    raw = encode(check)
    assert " " not in raw
    assert json.loads(raw)["status"] == "failed"
    assert decode(CheckState, raw) == check
    assert decode(CheckState, raw.encode()) == check


def test_record_round_trips_with_iso_days() -> None:
    record = make_record(recheck_at=date(2026, 9, 30))
    data = json.loads(encode(record))
    assert data["recheck_at"] == "2026-09-30"
    assert data["age_up_at"] == "2027-02-01"
    assert decode(AssuranceRecord, encode(record)) == record
    adult = make_record(age_up_at=None)
    assert decode(AssuranceRecord, encode(adult)) == adult


def _mutated(**changes: Any) -> str:
    data = json.loads(encode(make_record()))
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_mutated(subject_ref="alice"), "unknown fields"),
        ("{}", "missing fields"),
        (_mutated(generation=True), "expected an integer"),
        (_mutated(generation="1"), "expected an integer"),
        (_mutated(band=16), "expected a string"),
        (_mutated(recheck_at="2026-W10-1"), "expected an ISO date"),
        (_mutated(recheck_at="20260301"), "expected an ISO date"),
        (_mutated(recheck_at="2026-02-30"), "expected an ISO date"),
        (_mutated(age_up_at=20270201), "expected an ISO date"),
        ("[]", "not a JSON object"),
        ("{", "not JSON"),
    ],
)
def test_decode_refuses_what_it_did_not_write(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode(AssuranceRecord, raw)


def test_decode_refuses_bad_enums_and_lists() -> None:
    data = json.loads(encode(make_check(NOW)))
    with pytest.raises(ValueError, match="status: Input should be 'pending', 'passed' or 'failed'"):
        decode(CheckState, json.dumps({**data, "status": "maybe"}))
    with pytest.raises(ValueError, match="expected a list"):
        decode(CheckState, json.dumps({**data, "signals": "effective"}))
    with pytest.raises(ValueError, match="expected an object"):
        decode(CheckState, json.dumps({**data, "signals": [1]}))
    with pytest.raises(ValueError, match="expected a string"):
        decode(CheckState, json.dumps({**data, "signals": [{"level": 1, "lo": 1, "hi": None}]}))


def test_day_scores_are_utc_midnights() -> None:
    assert day_score(date(1970, 1, 2)) == 86_400
    assert day_score(date(2026, 3, 1)) == 1_772_323_200
    assert score_day(1_772_323_200.0) == date(2026, 3, 1)
    assert score_day(day_score(date(1969, 12, 31))) == date(1969, 12, 31)


@pytest.mark.parametrize("day", ["1", "739678", "999999"])
def test_every_cursor_of_the_documented_form_names_a_position(day: str) -> None:
    # openapi.yaml states the form as a pattern: each string it matches must page, never 400.
    cursor = f"{day}.sid_{'A' * 43}"
    assert re.fullmatch(DUE_CURSOR, cursor)
    assert decode_cursor(cursor) == (date.fromordinal(int(day)), f"sid_{'A' * 43}")
    for bad in ("0.sid_" + "A" * 43, "01.sid_" + "A" * 43, "1000000.sid_" + "A" * 43, "1.cnt_" + "A" * 43):
        assert not re.fullmatch(DUE_CURSOR, bad)
        with pytest.raises(InvalidCursor):
            decode_cursor(bad)


def test_cursor_round_trips_and_refuses_tampering() -> None:
    sid = random_sid()
    cursor = encode_cursor(date(2026, 2, 1), sid)
    assert decode_cursor(cursor) == (date(2026, 2, 1), sid)
    for bad in [cursor + "!", cursor[:-3], "e30", encode_cursor(date(2026, 2, 1), "a b")]:
        with pytest.raises(InvalidCursor):
            decode_cursor(bad)
