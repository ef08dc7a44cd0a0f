"""The RecheckStore and AppealStore contracts: one request and one appeal per subject (every backend)."""

from __future__ import annotations

import pytest
from store_backends import Backend
from store_factories import make_appeal, make_recheck, random_sid

from service.store.key_classes import key_class_of
from service.store.reviews import Connection, GuardianCode, GuardianLink
from service.store.roles import AppealStore, ConnectionStore, GuardianStore, RecheckStore

pytestmark = pytest.mark.anyio


async def test_a_recheck_request_round_trips_replaces_and_clears(recheck_store: RecheckStore) -> None:
    sid = random_sid()
    assert await recheck_store.get_recheck(sid) is None
    request = make_recheck(sid)
    await recheck_store.put_recheck(request, ttl=600)
    assert await recheck_store.get_recheck(sid) == request
    stricter = make_recheck(sid, min_level="highly_effective", reason="reported_adult_posing_as_minor")
    await recheck_store.put_recheck(stricter, ttl=600)
    assert await recheck_store.get_recheck(sid) == stricter
    await recheck_store.clear_recheck(sid)
    assert await recheck_store.get_recheck(sid) is None
    await recheck_store.clear_recheck(sid)  # clearing nothing is no error


async def test_requests_of_many_subjects_come_in_order(recheck_store: RecheckStore) -> None:
    asked, untouched, other = random_sid(), random_sid(), random_sid()
    await recheck_store.put_recheck(make_recheck(asked), ttl=600)
    await recheck_store.put_recheck(make_recheck(other, reason="reported_minor_posing_as_adult"), ttl=600)
    got = await recheck_store.rechecks_of([other, untouched, asked, other])
    assert [r.sid if r else None for r in got] == [other, None, asked, other]
    assert await recheck_store.rechecks_of([]) == []


async def test_an_appeal_round_trips_and_clears(appeal_store: AppealStore) -> None:
    sid = random_sid()
    assert await appeal_store.get_appeal(sid) is None
    appeal = make_appeal(sid)
    await appeal_store.put_appeal(appeal, ttl=600)
    assert await appeal_store.get_appeal(sid) == appeal
    await appeal_store.clear_appeal(sid)
    assert await appeal_store.get_appeal(sid) is None


async def test_requests_and_appeals_have_a_ttl_and_a_pseudonymous_name(backend: Backend) -> None:
    sid = random_sid()
    await backend.store.rechecks.put_recheck(make_recheck(sid), ttl=600)
    await backend.store.appeals.put_appeal(make_appeal(sid), ttl=900)
    keys = await backend.raw_keys()
    assert {kc.name for k in keys if (kc := key_class_of(k, backend.prefix))} == {"recheck_request", "appeal"}
    assert all(ttl is not None and 0 < ttl <= 900 for ttl in keys.values())


@pytest.mark.parametrize("ttl", [0, -5])
async def test_review_writes_need_a_positive_ttl(backend: Backend, ttl: int) -> None:
    sid = random_sid()
    with pytest.raises(ValueError, match="ttl"):
        await backend.store.rechecks.put_recheck(make_recheck(sid), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await backend.store.appeals.put_appeal(make_appeal(sid), ttl=ttl)


def _code(sid: str) -> GuardianCode:
    return GuardianCode(sid=sid, client_id="acme-app", band="under_13", issued_at=1_772_000_000)


async def test_a_guardian_code_is_taken_once(guardian_store: GuardianStore) -> None:
    sid = random_sid()
    ref = "gcd_" + sid[4:]
    assert await guardian_store.take_code(ref) is None
    await guardian_store.put_code(ref, _code(sid), ttl=600)
    assert await guardian_store.take_code(ref) == _code(sid)
    assert await guardian_store.take_code(ref) is None  # a code confirms once


_LINK_A = GuardianLink("ref-a", "under_13", "effective")
_LINK_B = GuardianLink("ref-b", "13_15", "basic")


async def test_a_guardian_link_is_found_from_both_sides_and_erased_from_either(
    guardian_store: GuardianStore,
) -> None:
    child, guardian, sibling = random_sid(), random_sid(), random_sid()
    await guardian_store.add_link("lnk_a", child, guardian, _LINK_A, ttl=600)
    await guardian_store.add_link("lnk_b", sibling, guardian, _LINK_B, ttl=600)
    assert await guardian_store.live_links(guardian) == ["lnk_a", "lnk_b"]
    assert await guardian_store.live_links(child) == ["lnk_a"]
    assert await guardian_store.link_values(guardian) == [_LINK_A, _LINK_B]
    assert await guardian_store.link_values(child) == [_LINK_A]
    assert await guardian_store.erase_links(child) == 1
    assert await guardian_store.link_values(guardian) == [_LINK_B]
    # The child's erasure removed the link itself: the guardian's side no longer counts it.
    assert await guardian_store.live_links(guardian) == ["lnk_b"]
    assert await guardian_store.live_links(child) == []
    assert await guardian_store.erase_links(guardian) == 1  # lnk_a was gone already
    assert await guardian_store.live_links(sibling) == []
    assert await guardian_store.erase_links(guardian) == 0


async def test_guardian_keys_have_a_ttl_and_pseudonymous_names(backend: Backend) -> None:
    child, guardian = random_sid(), random_sid()
    await backend.store.guardians.put_code("gcd_x", _code(child), ttl=300)
    await backend.store.guardians.add_link("lnk_x", child, guardian, _LINK_A, ttl=900)
    keys = await backend.raw_keys()
    names = sorted(kc.name for k in keys if (kc := key_class_of(k, backend.prefix)))
    assert names == ["guardian_code", "guardian_link", "guardian_links", "guardian_links"]
    assert all(ttl is not None and 0 < ttl <= 900 for ttl in keys.values())
    with pytest.raises(ValueError, match="ttl"):
        await backend.store.guardians.put_code("gcd_y", _code(child), ttl=0)


async def test_a_connection_is_found_by_its_nonce_and_erased_from_either_side(
    connection_store: ConnectionStore,
) -> None:
    a, b = random_sid(), random_sid()
    opened = Connection("acme-app", "member-a", None, 1_772_000_000, None)
    assert await connection_store.get_connection("tcn_1") is None
    await connection_store.put_connection("tcn_1", opened, [a], ttl=600)
    assert await connection_store.get_connection("tcn_1") == opened
    confirmed = Connection("acme-app", "member-a", "pair-ab", 1_772_000_000, 1_772_000_100)
    await connection_store.put_connection("tcn_1", confirmed, [b], ttl=900)
    assert await connection_store.get_connection("tcn_1") == confirmed
    assert await connection_store.erase_connections(b) == 1
    assert await connection_store.get_connection("tcn_1") is None
    assert await connection_store.erase_connections(a) == 0  # already gone through the other side
