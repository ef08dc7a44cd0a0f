"""Assurance records packed for Redis: about 40 characters instead of about 300 of JSON.

A deployment keeps one record per subject, for the whole retention period: at 100M subjects
the encoding is the store's size. Redis's ``MEMORY USAGE`` of a record key was ~470 bytes
with JSON; packed it is 168 (a value of at most 44 bytes is stored inline with its object
header) up to ~184 for a client id of up to ~30 characters (bench/memory.py measures it).

The stored text is ``2`` and the packed bytes in base85 (ASCII, so a client that decodes
responses as UTF-8 reads it too). JSON records begin with ``{``, so both read back and no
migration is needed: a record is rewritten packed the next time it is written (a refresh
does not write it; a check or an age-up does), and one never rewritten lapses with its TTL.
Packed layout:

    assured_at, recheck_at, age_up_at (uint16 days since 1970-01-01, 0xFFFF: none)
         | generation, passed_generation (uint16) | policy_version (8 bytes: 16 hex digits)
         | client_id, band, level, method, jurisdiction, revoked_for, upper_level

each string as one byte and its UTF-8 bytes: a length below 0xC0, or 0xC0 + n for the n-th
word of ``WORDS`` (bands, levels and method classes every deployment uses), or 0xFF for
null. The sid is not stored: it is the key's name. A record that does not fit (a date past
2149, a generation past 65,534, a policy version that is not 16 hex digits, a string of 192
bytes or more) is stored as JSON, which every reader still takes. Decoding is strict, as the
JSON codec is: a payload that does not parse whole raises ValueError.
"""

from __future__ import annotations

import base64
import re
import struct
from datetime import date, timedelta

from service.store.codec import decode, encode
from service.store.records import AssuranceRecord

FORMAT = "2"
# Append only: a word's place is its code in stored records, for as long as any lives.
WORDS: tuple[str, ...] = (
    "under_13", "13_15", "16_17", "18_plus",
    "basic", "effective", "highly_effective", "strict",
    "self_declaration", "facial_estimation", "age_credential", "eid_oidc", "os_signal",
    "default", "guardian",
)  # fmt: skip
_CODE = {w: 0xC0 + i for i, w in enumerate(WORDS)}
_NULL = 0xFF
_LITERAL_MAX = 0xBF
_HEAD = struct.Struct("<HHHHH8s")
_NO_DAY = 0xFFFF
_U16_MAX = 0xFFFE
_EPOCH = date(1970, 1, 1)
_HEX16 = re.compile(r"[0-9a-f]{16}")


class _DoesNotFit(Exception):
    pass


def _day(d: date | None) -> int:
    if d is None:
        return _NO_DAY
    n = (d - _EPOCH).days
    if not 0 <= n <= _U16_MAX:
        raise _DoesNotFit
    return n


def _policy(version: str) -> bytes:
    if not _HEX16.fullmatch(version):
        raise _DoesNotFit
    return bytes.fromhex(version)


def _u16(n: int) -> int:
    if not 0 <= n <= _U16_MAX:
        raise _DoesNotFit
    return n


def _text(s: str | None) -> bytes:
    if s is None:
        return b"\xff"
    code = _CODE.get(s)
    if code is not None:
        return bytes((code,))
    raw = s.encode()
    if len(raw) > _LITERAL_MAX:
        raise _DoesNotFit
    return bytes((len(raw),)) + raw


def encode_record(r: AssuranceRecord) -> str:
    """The packed record, or its JSON when a field does not fit the packed layout."""
    try:
        head = _HEAD.pack(
            _day(r.assured_at), _day(r.recheck_at), _day(r.age_up_at),
            _u16(r.generation), _u16(r.passed_generation), _policy(r.policy_version),
        )  # fmt: skip
        texts = (r.client_id, r.band, r.level, r.method, r.jurisdiction, r.revoked_for, r.upper_level)
        return FORMAT + base64.b85encode(head + b"".join(map(_text, texts))).decode("ascii")
    except _DoesNotFit:
        return encode(r)


def decode_record(raw: bytes | str, sid: str) -> AssuranceRecord:
    """A record from either stored form; ``sid`` is the key's (a JSON record names its own)."""
    text = raw if isinstance(raw, str) else raw.decode("ascii", "replace")
    if text[:1] != FORMAT:
        return decode(AssuranceRecord, raw)
    try:
        raw = base64.b85decode(text[1:])
    except ValueError as exc:
        raise ValueError("AssuranceRecord: not base85") from exc
    try:
        assured, recheck, age_up, gen, passed, pol = _HEAD.unpack_from(raw)
    except struct.error as exc:
        raise ValueError("AssuranceRecord: truncated") from exc
    texts: list[str | None] = []
    at = _HEAD.size
    for _ in range(7):
        if at >= len(raw):
            raise ValueError("AssuranceRecord: truncated")
        b = raw[at]
        at += 1
        if b == _NULL:
            texts.append(None)
        elif b >= 0xC0:
            if b - 0xC0 >= len(WORDS):
                raise ValueError("AssuranceRecord: unknown word")
            texts.append(WORDS[b - 0xC0])
        else:
            if at + b > len(raw):
                raise ValueError("AssuranceRecord: truncated")
            texts.append(raw[at : at + b].decode())  # UnicodeDecodeError is a ValueError
            at += b
    if at != len(raw):
        raise ValueError("AssuranceRecord: trailing bytes")
    client_id, band, level, method, jurisdiction, revoked_for, upper_level = texts
    if None in (client_id, band, level, method, jurisdiction) or _NO_DAY in (assured, recheck):
        raise ValueError("AssuranceRecord: a required field is null")
    return AssuranceRecord(
        sid=sid,
        client_id=client_id,  # type: ignore[arg-type]  # checked not None above
        band=band,  # type: ignore[arg-type]
        level=level,  # type: ignore[arg-type]
        method=method,  # type: ignore[arg-type]
        jurisdiction=jurisdiction,  # type: ignore[arg-type]
        assured_at=_EPOCH + timedelta(days=assured),
        recheck_at=_EPOCH + timedelta(days=recheck),
        age_up_at=None if age_up == _NO_DAY else _EPOCH + timedelta(days=age_up),
        policy_version=pol.hex(),
        generation=gen,
        passed_generation=passed,
        revoked_for=revoked_for,
        upper_level=upper_level,
    )
