"""The RecheckStore and AppealStore contracts: one request and one appeal per subject (every backend)."""

from __future__ import annotations

import pytest
from store_backends import Backend
from store_factories import make_appeal, make_recheck, random_sid

from service.store.keys import key_class_of
from service.store.roles import AppealStore, RecheckStore

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
