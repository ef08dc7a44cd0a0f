"""Canonical base64url: exactly one accepted spelling for every byte string."""

from __future__ import annotations

import base64

import pytest
from core_strategies import core_profile
from hypothesis import given
from hypothesis import strategies as st

from service.core.base64url import decode, decode_standard, is_canonical, is_canonical_compact


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@core_profile
@given(st.binary(max_size=200))
def test_the_encoding_of_any_bytes_is_canonical_and_decodes_back(raw: bytes) -> None:
    segment = encode(raw)
    assert is_canonical(segment)
    assert decode(segment) == raw
    assert is_canonical_compact(f"{segment}.{segment}.{segment}")


@core_profile
@given(st.binary(min_size=1, max_size=200), st.integers(min_value=1, max_value=63))
def test_any_other_last_character_with_the_same_bytes_is_refused(raw: bytes, step: int) -> None:
    segment = encode(raw)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other = segment[:-1] + alphabet[(alphabet.index(segment[-1]) + step) % 64]
    lenient = base64.urlsafe_b64decode(other + "=" * (-len(other) % 4))
    # A lenient decoder reads several last characters the same way; only one is canonical.
    assert is_canonical(other) == (encode(lenient) == other)
    if not is_canonical(other):
        with pytest.raises(ValueError, match="canonical"):
            decode(other)


@pytest.mark.parametrize(
    "segment",
    [
        *("eyJhbGciOiJFZERTQSJ9=", "QUI=", "QUJD===="),  # padding
        *("QU+D", "QU/D", "QU D", "QU\nD", "QU*D", "Ré"),  # outside the alphabet
        *("Q", "QUJDR"),  # a lone character in the last quantum
    ],
)
def test_padding_foreign_characters_and_impossible_lengths_are_refused(segment: str) -> None:
    assert not is_canonical(segment)
    assert not is_canonical_compact(f"{segment}.QUJD.QUJD")
    assert not is_canonical_compact(f"QUJD.QUJD.{segment}")
    with pytest.raises(ValueError, match="canonical"):
        decode(segment)


@pytest.mark.parametrize(
    "token", ["a.b", "QUJD.QUJD", "QUJD.QUJD.QUJD.QUJD", "QUJD..QUJD.", " QUJD.QUJD.QUJD"]
)
def test_compact_needs_exactly_three_segments_and_nothing_else(token: str) -> None:
    assert not is_canonical_compact(token)


def test_standard_base64_must_be_exactly_its_own_encoding() -> None:
    der = b"\xfb\xef\xbe" + bytes(range(40))  # "++++" first, "==" last
    value = base64.b64encode(der).decode()
    assert decode_standard(value) == der
    for other in (value.rstrip("="), value + "=", value.replace("+", "-"), " " + value, value[:-3] + "x=="):
        with pytest.raises(ValueError, match="canonical"):
            decode_standard(other)
