"""The SubjectStateStore contract: a subject's record, re-check request and sanction, read
together, are what the three roles' own reads give (every backend)."""

from __future__ import annotations

import pytest
from store_backends import Backend, WholeStore
from store_factories import OTHER_CLIENT, make_recheck, make_record, make_sanction, random_sid

from service.store.roles import SubjectState, SubjectStateStore

pytestmark = pytest.mark.anyio


async def separate_reads(store: WholeStore, sid: str) -> SubjectState:
    return SubjectState(
        await store.records.get_record(sid),
        await store.rechecks.get_recheck(sid),
        await store.sanctions.get_sanction(sid),
    )


async def test_nothing_stored_reads_as_three_nones(subject_state_store: SubjectStateStore) -> None:
    assert await subject_state_store.subject_state(random_sid()) == SubjectState(None, None, None)


async def test_a_record_alone(store: WholeStore, subject_state_store: SubjectStateStore) -> None:
    record = make_record()
    await store.records.put_record(record, ttl=600)
    assert await subject_state_store.subject_state(record.sid) == SubjectState(record, None, None)


async def test_all_three_as_each_role_reads_them(
    store: WholeStore, subject_state_store: SubjectStateStore
) -> None:
    record = make_record()
    sid = record.sid
    await store.records.put_record(record, ttl=600)
    await store.rechecks.put_recheck(make_recheck(sid), ttl=600)
    await store.sanctions.put_sanction(make_sanction(sid, locked_until=None, min_level="effective"), ttl=600)
    state = await subject_state_store.subject_state(sid)
    assert state == await separate_reads(store, sid)
    assert state.record == record
    assert state.recheck == make_recheck(sid)
    assert state.sanction == make_sanction(sid, locked_until=None, min_level="effective")


async def test_a_request_and_a_sanction_without_a_record(
    store: WholeStore, subject_state_store: SubjectStateStore
) -> None:
    sid = random_sid()
    await store.rechecks.put_recheck(make_recheck(sid), ttl=600)
    await store.sanctions.put_sanction(make_sanction(sid), ttl=600)
    assert await subject_state_store.subject_state(sid) == SubjectState(
        None, make_recheck(sid), make_sanction(sid)
    )


async def test_another_clients_record_is_handed_back_unjudged(
    store: WholeStore, subject_state_store: SubjectStateStore
) -> None:
    # Whose record it is, is the flow's to judge (refresh answers unknown_subject): the store
    # hands back what is stored.
    record = make_record(client_id=OTHER_CLIENT)
    await store.records.put_record(record, ttl=600)
    request = make_recheck(record.sid, client_id=OTHER_CLIENT)
    await store.rechecks.put_recheck(request, ttl=600)
    state = await subject_state_store.subject_state(record.sid)
    assert state == SubjectState(record, request, None)
    assert state.record is not None and state.record.client_id == OTHER_CLIENT


async def test_only_the_subjects_own_keys(store: WholeStore, subject_state_store: SubjectStateStore) -> None:
    neighbour = make_record()
    await store.records.put_record(neighbour, ttl=600)
    await store.rechecks.put_recheck(make_recheck(neighbour.sid), ttl=600)
    await store.sanctions.put_sanction(make_sanction(neighbour.sid), ttl=600)
    assert await subject_state_store.subject_state(random_sid()) == SubjectState(None, None, None)
    # A device's sanction is the device's (refresh binds no device): never read as a subject's.
    device = "dev_" + neighbour.sid[4:]
    await store.sanctions.put_device_sanction(device, make_sanction(device), ttl=600)
    assert await subject_state_store.subject_state(device) == SubjectState(None, None, None)


async def test_a_rewrite_and_a_removal_show_at_once(
    store: WholeStore, subject_state_store: SubjectStateStore
) -> None:
    record = make_record()
    sid = record.sid
    await store.records.put_record(record, ttl=600)
    await store.sanctions.put_sanction(make_sanction(sid), ttl=600)
    assert (await subject_state_store.subject_state(sid)).record == record
    newer = make_record(sid, generation=record.generation + 1)
    await store.records.put_record(newer, ttl=600)
    await store.sanctions.clear_sanction(sid)
    assert await subject_state_store.subject_state(sid) == SubjectState(newer, None, None)
    await store.records.delete_record(sid, record.client_id)
    assert await subject_state_store.subject_state(sid) == SubjectState(None, None, None)


async def test_expired_keys_read_as_absent(backend: Backend) -> None:
    record = make_record()
    sid = record.sid
    await backend.store.records.put_record(record, ttl=600)
    await backend.store.rechecks.put_recheck(make_recheck(sid), ttl=1)
    await backend.store.sanctions.put_sanction(make_sanction(sid), ttl=1)
    await backend.pass_time(1.2)
    assert await backend.store.subject_states.subject_state(sid) == SubjectState(record, None, None)
