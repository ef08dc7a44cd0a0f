"""Identifiers: the pairwise sid, check ids that carry their expiry, random token ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from core_strategies import core_profile
from hypothesis import assume, given
from hypothesis import strategies as st

from service.core.ids import (
    check_expiry,
    derive_sid,
    is_sid,
    keyed_hash,
    new_check_id,
    new_jti,
)

peppers = st.binary(min_size=16, max_size=64)
client_ids = st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s)
subjects = st.text(max_size=80)
expiries = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@core_profile
@given(peppers, client_ids, subjects)
def test_derive_sid_is_deterministic(pepper: bytes, client: str, subject: str) -> None:
    sid = derive_sid(pepper, client, subject)
    assert sid == derive_sid(pepper, client, subject)
    assert is_sid(sid)


@core_profile
@given(peppers, client_ids, client_ids, subjects)
def test_derive_sid_is_pairwise(pepper: bytes, one: str, other: str, subject: str) -> None:
    """Two clients never share a sid for the same subject, so one app cannot act on another's."""
    assume(one != other)
    assert derive_sid(pepper, one, subject) != derive_sid(pepper, other, subject)


@core_profile
@given(peppers, peppers, client_ids, subjects)
def test_derive_sid_depends_on_the_pepper(one: bytes, other: bytes, client: str, subject: str) -> None:
    assume(one != other)
    assert derive_sid(one, client, subject) != derive_sid(other, client, subject)


@core_profile
@given(peppers, client_ids, st.text(min_size=1, max_size=20), subjects)
def test_derive_sid_is_nul_separated(pepper: bytes, head: str, moved: str, tail: str) -> None:
    """("ab", "c") and ("a", "bc") never collide: moving text across the split changes the sid."""
    assume("\x00" not in moved)
    assert derive_sid(pepper, head + moved, tail) != derive_sid(pepper, head, moved + tail)


def test_derive_sid_split_example() -> None:
    pepper = b"p" * 32
    assert derive_sid(pepper, "ab", "c") != derive_sid(pepper, "a", "bc")


def test_derive_sid_rejects_nul_in_client_id() -> None:
    with pytest.raises(ValueError, match="NUL"):
        derive_sid(b"p" * 32, "a\x00b", "c")


@core_profile
@given(st.text(max_size=60))
def test_is_sid_rejects_text_that_is_not_a_sid(text: str) -> None:
    assume(not text.startswith("sid_"))
    assert not is_sid(text)


@core_profile
@given(expiries)
def test_check_ids_round_trip_their_expiry(expires: datetime) -> None:
    check_id = new_check_id(expires)
    assert check_expiry(check_id) == int(expires.timestamp())
    assert check_expiry(check_id) <= expires.timestamp()  # never later than the real expiry


@core_profile
@given(expiries)
def test_check_ids_are_unique(expires: datetime) -> None:
    assert new_check_id(expires) != new_check_id(expires)


@core_profile
@given(st.text(max_size=60))
def test_check_expiry_is_none_for_foreign_ids(text: str) -> None:
    assume(not text.startswith("chk_"))
    assert check_expiry(text) is None


@pytest.mark.parametrize(
    "foreign",
    [
        "chk_",
        "chk_abc",
        "chk_ABC_AAAAAAAAAAAAAAAAAAAAAA",  # upper-case base36
        "chk_1234567890abc_AAAAAAAAAAAAAAAAAAAAAA",  # 13 base36 digits
        "chk_1_AAAAAAAAAAAAAAAAAAAAA",  # 21 random characters
        "chk_1_AAAAAAAAAAAAAAAAAAAAAA\n",
        "sid_" + "A" * 43,
    ],
)
def test_check_expiry_rejects_malformed_ids(foreign: str) -> None:
    assert check_expiry(foreign) is None


def test_check_id_expiry_example() -> None:
    at = datetime(2026, 3, 10, 12, 15, 30, 999_999, tzinfo=UTC)
    check_id = new_check_id(at)
    assert check_id.startswith("chk_")
    assert check_expiry(check_id) == int(datetime(2026, 3, 10, 12, 15, 30, tzinfo=UTC).timestamp())


def test_check_ids_before_the_epoch_or_without_a_timezone_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        new_check_id(datetime(1969, 12, 31, 23, 59, tzinfo=UTC))
    with pytest.raises(ValueError, match="aware"):
        new_check_id(datetime(2026, 3, 10, 12, 15))


def test_jti_has_128_random_bits() -> None:
    jtis = {new_jti() for _ in range(1000)}
    assert len(jtis) == 1000
    assert all(len(j) == 22 for j in jtis)  # 16 bytes, base64url without padding


@core_profile
@given(st.binary(min_size=16, max_size=32), st.binary(min_size=16, max_size=32), st.text(max_size=40))
def test_keyed_hash_is_deterministic_and_keyed(one: bytes, other: bytes, value: str) -> None:
    assert keyed_hash(one, value) == keyed_hash(one, value)
    assume(one != other)
    assert keyed_hash(one, value) != keyed_hash(other, value)
