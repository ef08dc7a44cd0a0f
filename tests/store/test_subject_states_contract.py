"""The SubjectStateStore contract: a subject's record, re-check request, sanction and revocation
marker, read together, are what the four roles' own reads give (every backend)."""

from __future__ import annotations

import pytest
from store_backends import Backend, WholeStore
from store_factories import OTHER_CLIENT, make_recheck, make_record, make_sanction, random_sid

from service.store.roles import SubjectState, SubjectStateStore

pytestmark = pytest.mark.anyio

NOTHING = SubjectState(None, None, None, None)
REVOKED_AT = 1_772_000_000


async def separate_reads(store: WholeStore, sid: str) -> SubjectState:
    return SubjectState(
        await store.records.get_record(sid),
        await store.rechecks.get_recheck(sid),
        await store.sanctions.get_sanction(sid),
        await store.revocations.revoked_at(sid),
    )


async def test_nothing_stored_reads_as_nones(subject_state_store: SubjectStateStore) -> None:
    assert await subject_state_store.subject_state(random_sid()) == NOTHING


async def test_a_record_alone(store: WholeStore, subject_state_store: SubjectStateStore) -> None:
    record = make_record()
    await store.records.put_record(record, ttl=600)
    assert await subject_state_store.subject_state(record.sid) == SubjectState(record, None, None, None)


async def test_all_four_as_each_role_reads_them(
    store: WholeStore, subject_state_store: SubjectStateStore
) -> None:
    record = make_record()
    sid = record.sid
    sanction = make_sanction(sid, locked_until=None, min_level="effective")
    await store.records.put_record(record, ttl=600)
    await store.rechecks.put_recheck(make_recheck(sid), ttl=600)
    await store.sanctions.put_sanction(sanction, ttl=600)
    await store.revocations.revoke(sid, REVOKED_AT, ttl=600)
    state = await subject_state_store.subject_state(sid)
    assert state == SubjectState(record, make_recheck(sid), sanction, REVOKED_AT)
    assert state == await separate_reads(store, sid)


async def test_the_others_without_a_record(store: WholeStore, subject_state_store: SubjectStateStore) -> None:
    sid = random_sid()
    await store.rechecks.put_recheck(make_recheck(sid), ttl=600)
    await store.sanctions.put_sanction(make_sanction(sid), ttl=600)
    await store.revocations.revoke(sid, REVOKED_AT, ttl=600)
    expected = SubjectState(None, make_recheck(sid), make_sanction(sid), REVOKED_AT)
    assert await subject_state_store.subject_state(sid) == expected


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
    assert state == SubjectState(record, request, None, None)
    assert state.record is not None and state.record.client_id == OTHER_CLIENT


async def test_only_the_subjects_own_keys(store: WholeStore, subject_state_store: SubjectStateStore) -> None:
    neighbour = make_record()
    await store.records.put_record(neighbour, ttl=600)
    await store.rechecks.put_recheck(make_recheck(neighbour.sid), ttl=600)
    await store.sanctions.put_sanction(make_sanction(neighbour.sid), ttl=600)
    await store.revocations.revoke(neighbour.sid, REVOKED_AT, ttl=600)
    assert await subject_state_store.subject_state(random_sid()) == NOTHING
    # A device's sanction is the device's (refresh binds no device): never read as a subject's.
    device = "dev_" + neighbour.sid[4:]
    await store.sanctions.put_device_sanction(device, make_sanction(device), ttl=600)
    assert await subject_state_store.subject_state(device) == NOTHING


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
    await store.revocations.revoke(sid, REVOKED_AT, ttl=600)
    assert await subject_state_store.subject_state(sid) == SubjectState(newer, None, None, REVOKED_AT)
    await store.records.delete_record(sid, record.client_id)
    assert (await subject_state_store.subject_state(sid)).record is None


async def test_expired_keys_read_as_absent(backend: Backend) -> None:
    record = make_record()
    sid = record.sid
    await backend.store.records.put_record(record, ttl=600)
    await backend.store.rechecks.put_recheck(make_recheck(sid), ttl=1)
    await backend.store.sanctions.put_sanction(make_sanction(sid), ttl=1)
    await backend.store.revocations.revoke(sid, REVOKED_AT, ttl=1)
    await backend.pass_time(1.2)
    assert await backend.store.subject_states.subject_state(sid) == SubjectState(record, None, None, None)
