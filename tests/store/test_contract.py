"""The Store contract. Every test runs on each backend (memory, real Redis)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import secrets
from datetime import date, timedelta

import pytest
from store_backends import Backend
from store_factories import (
    CLIENT,
    NOW,
    OTHER_CLIENT,
    SUBJECT_REF,
    make_check,
    make_event,
    make_record,
    make_sanction,
    random_sid,
    sid_for,
)

from service.store.base import DueEntry, Store
from service.store.errors import InvalidCursor
from service.store.events import QueuedEvent
from service.store.keys import KEY_CLASSES, key_class_of
from service.store.records import CheckStatus

pytestmark = pytest.mark.anyio

TODAY = NOW.date()


async def all_due(
    store: Store, before: date, limit: int, client_id: str = CLIENT
) -> tuple[list[DueEntry], list[int]]:
    """Every page, concatenated, plus the page sizes."""
    entries: list[DueEntry] = []
    sizes: list[int] = []
    cursor: str | None = None
    while True:
        page = await store.due(client_id, before, cursor, limit)
        entries += page.entries
        sizes.append(len(page.entries))
        if page.cursor is None:
            return entries, sizes
        cursor = page.cursor


# Checks ---------------------------------------------------------------------------


async def test_check_round_trips(store: Store) -> None:
    check = make_check(NOW)
    await store.create_check(check, ttl=900)
    assert await store.get_check(check.check_id) == check
    assert await store.get_check(make_check(NOW).check_id) is None


async def test_create_check_refuses_a_taken_id(store: Store) -> None:
    check = make_check(NOW)
    await store.create_check(check, ttl=900)
    with pytest.raises(ValueError, match="taken"):
        await store.create_check(dataclasses.replace(check, purpose="other"), ttl=900)
    assert await store.get_check(check.check_id) == check


@pytest.mark.parametrize("ttl", [0, -5])
async def test_every_write_needs_a_positive_ttl(store: Store, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await store.create_check(make_check(NOW), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await store.put_record(make_record(), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await store.claim_attempt(make_check(NOW).check_id, limit=3, ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await store.revoke(random_sid(), revoked_at=1, ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await store.use_once("nonce", ttl=ttl)


async def test_update_check_bumps_the_version(store: Store) -> None:
    check = make_check(NOW)
    await store.create_check(check, ttl=900)
    check.methods_tried.append("age_credential")
    assert await store.update_check(check) is True
    assert check.version == 1
    assert await store.get_check(check.check_id) == check
    check.interval_lo = 18
    assert await store.update_check(check) is True
    assert (await store.get_check(check.check_id)) == check
    assert check.version == 2


async def test_update_check_from_a_stale_version_loses(store: Store) -> None:
    check = make_check(NOW)
    await store.create_check(check, ttl=900)
    stale = dataclasses.replace(check)
    assert await store.update_check(check) is True
    stale.reason = "late_writer"
    assert await store.update_check(stale) is False
    assert stale.version == 0  # untouched on a lost race
    assert await store.get_check(check.check_id) == check


async def test_update_check_of_a_missing_check_is_false(store: Store) -> None:
    check = make_check(NOW)
    assert await store.update_check(check) is False
    assert check.version == 0
    assert await store.get_check(check.check_id) is None  # and it did not create one


async def test_update_check_keeps_the_ttl(backend: Backend) -> None:
    check = make_check(NOW)
    await backend.store.create_check(check, ttl=900)
    assert await backend.store.update_check(check)
    (ttl,) = (await backend.raw_keys()).values()
    assert ttl is not None
    assert 890 < ttl <= 900


async def test_concurrent_updates_from_one_version_one_wins(store: Store) -> None:
    check = make_check(NOW)
    await store.create_check(check, ttl=900)
    a = dataclasses.replace(check, status=CheckStatus.PASSED, methods_tried=["a"])
    b = dataclasses.replace(check, status=CheckStatus.FAILED, methods_tried=["b"])
    results = await asyncio.gather(store.update_check(a), store.update_check(b))
    assert sorted(results) == [False, True]
    winner = a if results[0] else b
    assert winner.version == 1
    assert await store.get_check(check.check_id) == winner


async def test_many_concurrent_updates_from_one_version_one_wins(store: Store) -> None:
    check = make_check(NOW)
    await store.create_check(check, ttl=900)
    copies = [dataclasses.replace(check, reason=f"writer_{i}") for i in range(20)]
    results = await asyncio.gather(*(store.update_check(c) for c in copies))
    assert results.count(True) == 1
    stored = await store.get_check(check.check_id)
    assert stored == copies[results.index(True)]


async def test_claim_attempt_counts_up_to_the_limit(store: Store) -> None:
    check_id = make_check(NOW).check_id
    assert [await store.claim_attempt(check_id, limit=3, ttl=900) for _ in range(3)] == [1, 2, 3]
    assert await store.claim_attempt(check_id, limit=3, ttl=900) is None
    assert await store.claim_attempt(check_id, limit=3, ttl=900) is None
    # Refused claims left the counter at 3: a higher limit continues from there.
    assert await store.claim_attempt(check_id, limit=5, ttl=900) == 4


async def test_claim_attempt_counts_per_check(store: Store) -> None:
    one, two = make_check(NOW).check_id, make_check(NOW).check_id
    assert await store.claim_attempt(one, limit=1, ttl=900) == 1
    assert await store.claim_attempt(one, limit=1, ttl=900) is None
    assert await store.claim_attempt(two, limit=1, ttl=900) == 1


async def test_concurrent_claims_never_exceed_the_limit(store: Store) -> None:
    check_id = make_check(NOW).check_id
    results = await asyncio.gather(*(store.claim_attempt(check_id, limit=5, ttl=900) for _ in range(50)))
    assert sorted(r for r in results if r is not None) == [1, 2, 3, 4, 5]
    assert results.count(None) == 45


async def test_release_attempt_gives_one_back(store: Store) -> None:
    check_id = make_check(NOW).check_id
    assert [await store.claim_attempt(check_id, limit=3, ttl=900) for _ in range(3)] == [1, 2, 3]
    assert await store.release_attempt(check_id) == 2
    assert await store.claim_attempt(check_id, limit=3, ttl=900) == 3  # the given-back attempt
    assert await store.claim_attempt(check_id, limit=3, ttl=900) is None


async def test_release_attempt_never_goes_below_zero_nor_creates_the_counter(backend: Backend) -> None:
    store = backend.store
    check_id = make_check(NOW).check_id
    assert await store.release_attempt(check_id) == 0
    assert await backend.raw_keys() == {}  # nothing written for a check with no counter
    assert await store.claim_attempt(check_id, limit=2, ttl=900) == 1
    assert [await store.release_attempt(check_id) for _ in range(3)] == [0, 0, 0]
    assert [await store.claim_attempt(check_id, limit=2, ttl=900) for _ in range(3)] == [1, 2, None]


async def test_release_attempt_keeps_the_ttl(backend: Backend) -> None:
    """The window is not stretched: a released counter still expires when it would have.
    (Compared with its own TTL just before, so a slow machine cannot make it fail.)"""
    store = backend.store
    check_id = make_check(NOW).check_id
    assert await store.claim_attempt(check_id, limit=3, ttl=900) == 1
    assert await store.claim_attempt(check_id, limit=3, ttl=900) == 2
    await backend.pass_time(1.1)
    (before,) = (await backend.raw_keys()).values()
    assert await store.release_attempt(check_id) == 1
    (after,) = (await backend.raw_keys()).values()
    assert before is not None and after is not None
    assert after <= before < 899.5  # not set back to 900


async def test_concurrent_releases_and_claims_stay_within_bounds(store: Store) -> None:
    check_id = make_check(NOW).check_id
    for _ in range(5):
        await store.claim_attempt(check_id, limit=5, ttl=900)
    released = await asyncio.gather(*(store.release_attempt(check_id) for _ in range(12)))
    assert sorted(released) == [0] * 8 + [1, 2, 3, 4]  # never below zero
    results = await asyncio.gather(*(store.claim_attempt(check_id, limit=5, ttl=900) for _ in range(20)))
    assert sorted(r for r in results if r is not None) == [1, 2, 3, 4, 5]


# Records ----------------------------------------------------------------------------


async def test_record_round_trips_and_is_replaced(store: Store) -> None:
    record = make_record()
    await store.put_record(record, ttl=3600)
    assert await store.get_record(record.sid) == record
    newer = dataclasses.replace(record, band="18_plus", age_up_at=None, generation=1)
    await store.put_record(newer, ttl=3600)
    assert await store.get_record(record.sid) == newer
    assert await store.get_record(random_sid()) is None


async def test_replace_record_writes_only_over_the_expected_record(store: Store) -> None:
    record = make_record(recheck_at=TODAY - timedelta(days=2))
    assert await store.replace_record(None, record, ttl=3600)  # none expected, none there
    assert not await store.replace_record(None, record, ttl=3600)  # now there is one
    bumped = dataclasses.replace(record, generation=1, revoked_for="younger_band")
    assert await store.replace_record(record, bumped, ttl=3600)
    stale = dataclasses.replace(record, band="18_plus")
    assert not await store.replace_record(record, stale, ttl=3600)  # written over since
    assert await store.get_record(record.sid) == bumped
    moved = dataclasses.replace(bumped, recheck_at=TODAY - timedelta(days=5))
    assert await store.replace_record(bumped, moved, ttl=3600)
    assert [e.sid for e in (await store.due(CLIENT, TODAY, None, 10)).entries] == [record.sid]
    assert (await store.due(CLIENT, TODAY - timedelta(days=3), None, 10)).entries[
        0
    ].recheck_at == moved.recheck_at


async def test_concurrent_record_replacements_from_one_version_one_wins(store: Store) -> None:
    record = make_record()
    await store.put_record(record, ttl=3600)
    copies = [dataclasses.replace(record, generation=i + 1) for i in range(20)]
    results = await asyncio.gather(*(store.replace_record(record, c, ttl=3600) for c in copies))
    assert results.count(True) == 1
    assert await store.get_record(record.sid) == copies[results.index(True)]


async def test_delete_record_removes_it_and_its_due_entry(store: Store) -> None:
    record = make_record(recheck_at=TODAY - timedelta(days=1))
    await store.put_record(record, ttl=3600)
    assert await store.delete_record(record.sid, CLIENT) is True
    assert await store.get_record(record.sid) is None
    assert (await store.due(CLIENT, TODAY, None, 10)).entries == []
    assert await store.delete_record(record.sid, CLIENT) is False


# Due lists --------------------------------------------------------------------------


async def test_due_pages_in_recheck_then_sid_order(store: Store) -> None:
    rng = random.Random(7)
    days = [TODAY - timedelta(days=d) for d in (40, 9, 3, 1)]
    records = [make_record(recheck_at=rng.choice(days)) for _ in range(60)]
    # Not due: on the bound itself, after it, or another client's.
    records += [make_record(recheck_at=TODAY), make_record(recheck_at=TODAY + timedelta(days=30))]
    records.append(make_record(recheck_at=days[0], client_id=OTHER_CLIENT))
    rng.shuffle(records)
    for record in records:
        await store.put_record(record, ttl=3600)

    entries, sizes = await all_due(store, TODAY, limit=7)

    expected = sorted(
        (r.recheck_at, r.sid) for r in records if r.client_id == CLIENT and r.recheck_at < TODAY
    )
    assert [(e.recheck_at, e.sid) for e in entries] == expected
    assert sizes == [7] * 8 + [4]


async def test_due_pages_through_many_entries_on_one_day(store: Store) -> None:
    day = TODAY - timedelta(days=2)
    sids = [random_sid() for _ in range(45)]
    for sid in sids:
        await store.put_record(make_record(sid, recheck_at=day), ttl=3600)
    entries, sizes = await all_due(store, TODAY, limit=10)
    assert [e.sid for e in entries] == sorted(sids)
    assert {e.recheck_at for e in entries} == {day}
    assert sizes == [10, 10, 10, 10, 5]


async def test_due_cursor_is_none_when_a_page_ends_the_list(store: Store) -> None:
    for _ in range(4):
        await store.put_record(make_record(recheck_at=TODAY - timedelta(days=1)), ttl=3600)
    exact = await store.due(CLIENT, TODAY, None, 4)
    assert len(exact.entries) == 4
    assert exact.cursor is None
    first = await store.due(CLIENT, TODAY, None, 3)
    assert len(first.entries) == 3
    assert first.cursor is not None
    rest = await store.due(CLIENT, TODAY, first.cursor, 3)
    assert len(rest.entries) == 1
    assert rest.cursor is None


async def test_due_of_an_empty_index(store: Store) -> None:
    page = await store.due(CLIENT, TODAY, None, 10)
    assert page.entries == []
    assert page.cursor is None


async def test_due_continues_after_the_cursor_entry_moved_or_went(store: Store) -> None:
    day = TODAY - timedelta(days=5)
    records = sorted((make_record(recheck_at=day) for _ in range(9)), key=lambda r: r.sid)
    for record in records:
        await store.put_record(record, ttl=3600)
    first = await store.due(CLIENT, TODAY, None, 3)
    assert [e.sid for e in first.entries] == [r.sid for r in records[:3]]
    # The page's last subject is re-checked (moves to the future), the next one revoked.
    await store.put_record(dataclasses.replace(records[2], recheck_at=TODAY + timedelta(days=90)), 60)
    await store.delete_record(records[3].sid, CLIENT)
    entries, _ = await all_due(store, TODAY, limit=3)
    assert [e.sid for e in entries] == [r.sid for r in records[:2] + records[4:]]
    rest = await store.due(CLIENT, TODAY, first.cursor, 3)
    assert [e.sid for e in rest.entries] == [r.sid for r in records[4:7]]


async def test_due_moves_a_re_put_record_instead_of_duplicating_it(store: Store) -> None:
    record = make_record(recheck_at=TODAY - timedelta(days=3))
    await store.put_record(record, ttl=3600)
    await store.put_record(dataclasses.replace(record, recheck_at=TODAY - timedelta(days=1)), 3600)
    page = await store.due(CLIENT, TODAY, None, 10)
    assert page.entries == [DueEntry(record.sid, TODAY - timedelta(days=1))]


async def test_due_skips_entries_whose_record_is_gone(store: Store) -> None:
    day = TODAY - timedelta(days=1)
    records = [make_record(recheck_at=day) for _ in range(50)]
    for record in records:
        await store.put_record(record, ttl=3600)
    # Deleting under the wrong client leaves the right client's index entry behind, as a
    # crash between the two writes of delete_record would.
    gone = {r.sid for i, r in enumerate(records) if i % 5 < 3}
    for sid in gone:
        assert await store.delete_record(sid, OTHER_CLIENT) is True
    live = sorted(r.sid for r in records if r.sid not in gone)

    first = await store.due(CLIENT, TODAY, None, 15)
    assert [e.sid for e in first.entries] == live[:15]  # paged on past stale entries
    entries, _ = await all_due(store, TODAY, limit=4)
    assert [e.sid for e in entries] == live
    entries, _ = await all_due(store, TODAY, limit=4)  # again, after the clean-up
    assert [e.sid for e in entries] == live


async def test_due_never_shows_another_clients_subjects(store: Store) -> None:
    day = TODAY - timedelta(days=1)
    ours = make_record(recheck_at=day)
    theirs = make_record(recheck_at=day, client_id=OTHER_CLIENT)
    await store.put_record(ours, ttl=3600)
    await store.put_record(theirs, ttl=3600)
    assert [e.sid for e in (await store.due(CLIENT, TODAY, None, 10)).entries] == [ours.sid]
    assert [e.sid for e in (await store.due(OTHER_CLIENT, TODAY, None, 10)).entries] == [theirs.sid]


async def test_due_rejects_a_bad_limit_or_cursor(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.due(CLIENT, TODAY, None, 0)
    for cursor in ["", "not a cursor", "MjAyNi0wMS0wMQ", "!!!!"]:
        with pytest.raises(InvalidCursor):
            await store.due(CLIENT, TODAY, cursor, 10)


# Revocation ---------------------------------------------------------------------------


async def test_revocation_keeps_the_latest_time(store: Store) -> None:
    sid = random_sid()
    assert await store.revoked_at(sid) is None
    await store.revoke(sid, revoked_at=1_772_000_000, ttl=600)
    assert await store.revoked_at(sid) == 1_772_000_000
    await store.revoke(sid, revoked_at=1_771_000_000, ttl=600)  # earlier: must not revive
    assert await store.revoked_at(sid) == 1_772_000_000
    await store.revoke(sid, revoked_at=1_773_000_000, ttl=600)
    assert await store.revoked_at(sid) == 1_773_000_000
    assert await store.revoked_at(random_sid()) is None


async def test_revocation_keeps_the_longest_ttl(backend: Backend) -> None:
    sid = random_sid()
    await backend.store.revoke(sid, revoked_at=1_772_000_000, ttl=600)
    await backend.store.revoke(sid, revoked_at=1_772_000_100, ttl=60)
    (ttl,) = (await backend.raw_keys()).values()
    assert ttl is not None
    assert ttl > 590


async def test_revoked_at_many_reads_each_marker_in_order(store: Store) -> None:
    a, b, c = random_sid(), random_sid(), random_sid()
    await store.revoke(a, revoked_at=1_772_000_000, ttl=600)
    await store.revoke(c, revoked_at=1_773_000_000, ttl=600)
    assert await store.revoked_at_many([a, b, c]) == [1_772_000_000, None, 1_773_000_000]
    assert await store.revoked_at_many([b]) == [None]
    assert await store.revoked_at_many([c]) == [1_773_000_000]
    assert await store.revoked_at_many([]) == []
    many = [random_sid() for _ in range(2500)]  # more than one round trip's worth
    await store.revoke(many[1700], revoked_at=5, ttl=600)
    assert await store.revoked_at_many(many) == [5 if i == 1700 else None for i in range(2500)]


# Single use ---------------------------------------------------------------------------


async def test_use_once_is_true_only_the_first_time(store: Store) -> None:
    assert await store.use_once("jti-1", ttl=300) is True
    assert await store.use_once("jti-1", ttl=300) is False
    assert await store.use_once("jti-2", ttl=300) is True


async def test_concurrent_use_once_admits_exactly_one(store: Store) -> None:
    results = await asyncio.gather(*(store.use_once("nonce-x", ttl=300) for _ in range(30)))
    assert results.count(True) == 1


# Keys, TTLs and expiry ------------------------------------------------------------------


async def write_one_of_everything(store: Store) -> None:
    sid = sid_for(SUBJECT_REF)
    check = make_check(NOW, sid=sid)
    await store.track_check(sid, check.check_id, ttl=900)
    await store.create_check(check, ttl=900)
    await store.update_check(check)
    await store.claim_attempt(check.check_id, limit=3, ttl=900)
    await store.put_record(make_record(sid, recheck_at=TODAY - timedelta(days=1)), ttl=86_400)
    await store.revoke(sid, revoked_at=1_772_000_000, ttl=600)
    await store.use_once(f"state-for-{SUBJECT_REF}", ttl=300)
    await write_one_of_each_lifecycle_key(store, sid)


async def write_one_of_each_lifecycle_key(store: Store, sid: str) -> None:
    """The abuse, sanction, timer and event key classes."""
    await store.count_hit("attempts", sid, ttl=600)
    await store.add_distinct("shopping", sid, "os_signal", ttl=600)
    await store.put_sanction(make_sanction(sid), ttl=600)
    await store.put_device_sanction("dev_" + sid[4:], make_sanction("dev_" + sid[4:]), ttl=600)
    await store.schedule(CLIENT, sid, TODAY, ttl=86_400)
    await store.publish_event(make_event(), ttl=3600)
    await store.publish_event(make_event(), ttl=3600)
    await store.ensure_group("g")
    first, second = await store.read_events("g", "c", 2, 0)
    await store.retry_event("g", first.entry_id, first.event, at_ms=1, ttl=3600)
    await store.dead_letter("g", second.entry_id, second.event, ttl=3600)


async def test_every_key_has_a_ttl(backend: Backend) -> None:
    await write_one_of_everything(backend.store)
    keys = await backend.raw_keys()
    assert len(keys) == len(KEY_CLASSES)
    for key, ttl in keys.items():
        assert ttl is not None, key
        assert 0 < ttl <= 86_400, key


async def test_key_names_follow_the_documented_patterns(backend: Backend) -> None:
    await write_one_of_everything(backend.store)
    keys = await backend.raw_keys()
    classes = {key: key_class_of(key, backend.prefix) for key in keys}
    assert None not in classes.values(), classes
    assert {kc.name for kc in classes.values() if kc} == {kc.name for kc in KEY_CLASSES}
    for key in keys:
        assert SUBJECT_REF not in key
        assert "alice" not in key


async def test_keys_expire(backend: Backend) -> None:
    """One test, one wait: the wait is real on Redis."""
    store = backend.store
    sid = random_sid()
    check = make_check(NOW, sid=sid)
    day = TODAY - timedelta(days=1)
    short, kept = make_record(sid, recheck_at=day), make_record(recheck_at=day)
    await store.create_check(check, ttl=1)
    await store.claim_attempt(check.check_id, limit=1, ttl=1)
    await store.put_record(short, ttl=1)
    await store.put_record(kept, ttl=3600)
    await store.revoke(sid, revoked_at=1_772_000_000, ttl=1)
    assert await store.use_once("nonce", ttl=1) is True

    await backend.pass_time(1.1)

    assert await store.get_check(check.check_id) is None
    assert await store.update_check(check) is False
    assert await store.claim_attempt(check.check_id, limit=1, ttl=1) == 1  # a fresh counter
    assert await store.get_record(short.sid) is None
    assert await store.revoked_at(sid) is None
    assert await store.use_once("nonce", ttl=1) is True
    page = await store.due(CLIENT, TODAY, None, 10)
    assert page.entries == [DueEntry(kept.sid, day)]  # the expired record's entry is skipped


async def test_ping_answers(store: Store) -> None:
    await store.ping()


# Abuse counters ---------------------------------------------------------------------------


async def test_count_hit_counts_per_scope_and_subject(store: Store) -> None:
    sid, other = random_sid(), random_sid()
    assert [await store.count_hit("attempts", sid, ttl=600) for _ in range(3)] == [1, 2, 3]
    assert await store.count_hit("failures", sid, ttl=600) == 1
    assert await store.count_hit("attempts", other, ttl=600) == 1


async def test_peek_count_reads_without_counting(store: Store) -> None:
    sid = random_sid()
    assert await store.peek_count("failures", sid) == 0
    await store.count_hit("failures", sid, ttl=600)
    assert await store.peek_count("failures", sid) == 1
    assert await store.peek_count("failures", sid) == 1


async def test_count_hit_window_is_fixed_from_the_first_hit(backend: Backend) -> None:
    sid = random_sid()
    await backend.store.count_hit("attempts", sid, ttl=600)
    await backend.store.count_hit("attempts", sid, ttl=6000)  # a later, longer window: not extended
    (ttl,) = (await backend.raw_keys()).values()
    assert ttl is not None
    assert 590 < ttl <= 600


async def test_concurrent_hits_are_all_counted(store: Store) -> None:
    sid = random_sid()
    counts = await asyncio.gather(*(store.count_hit("attempts", sid, ttl=600) for _ in range(40)))
    assert sorted(counts) == list(range(1, 41))


async def test_add_distinct_counts_members_once(store: Store) -> None:
    sid = random_sid()
    assert await store.add_distinct("shopping", sid, "os_signal", ttl=600) == 1
    assert await store.add_distinct("shopping", sid, "os_signal", ttl=600) == 1
    assert await store.add_distinct("shopping", sid, "self_declaration", ttl=600) == 2
    await store.clear_counters(sid, ["shopping"])
    assert await store.add_distinct("shopping", sid, "os_signal", ttl=600) == 1


async def test_clear_counters_forgets_only_the_named_scopes(store: Store) -> None:
    sid = random_sid()
    await store.count_hit("failures", sid, ttl=600)
    await store.count_hit("attempts", sid, ttl=600)
    await store.clear_counters(sid, ["failures"])
    assert await store.count_hit("failures", sid, ttl=600) == 1
    assert await store.count_hit("attempts", sid, ttl=600) == 2


@pytest.mark.parametrize("ttl", [0, -1])
async def test_lifecycle_writes_need_a_positive_ttl(store: Store, ttl: int) -> None:
    sid = random_sid()
    with pytest.raises(ValueError, match="ttl"):
        await store.count_hit("attempts", sid, ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await store.add_distinct("shopping", sid, "m", ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await store.put_sanction(make_sanction(sid), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await store.put_device_sanction("dev_x", make_sanction("dev_x"), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await store.schedule(CLIENT, sid, TODAY, ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await store.publish_event(make_event(), ttl=ttl)


# Sanctions ------------------------------------------------------------------------------


async def test_sanction_round_trips_and_clears(store: Store) -> None:
    sid = random_sid()
    assert await store.get_sanction(sid) is None
    sanction = make_sanction(sid)
    await store.put_sanction(sanction, ttl=600)
    assert await store.get_sanction(sid) == sanction
    await store.clear_sanction(sid)
    assert await store.get_sanction(sid) is None


async def test_a_device_sanction_is_kept_apart_from_the_subjects(store: Store) -> None:
    sid = random_sid()
    device = "dev_" + sid[4:]  # a keyed hash like the subject's, in its own key space
    assert await store.get_device_sanction(device) is None
    sanction = make_sanction(device)
    await store.put_device_sanction(device, sanction, ttl=600)
    assert await store.get_device_sanction(device) == sanction
    assert await store.get_sanction(device) is None and await store.get_device_sanction(sid) is None


# Timers -------------------------------------------------------------------------------


async def test_timers_come_due_in_day_order_per_client(store: Store) -> None:
    a, b, c = random_sid(), random_sid(), random_sid()
    await store.schedule(CLIENT, a, TODAY + timedelta(days=2), ttl=86_400)
    await store.schedule(CLIENT, b, TODAY - timedelta(days=1), ttl=86_400)
    await store.schedule(CLIENT, c, TODAY, ttl=86_400)
    await store.schedule(OTHER_CLIENT, random_sid(OTHER_CLIENT), TODAY, ttl=86_400)
    assert await store.timers_due(CLIENT, TODAY + timedelta(days=1), 10) == [
        (b, TODAY - timedelta(days=1)),
        (c, TODAY),
    ]
    assert await store.timers_due(CLIENT, TODAY + timedelta(days=1), 1) == [(b, TODAY - timedelta(days=1))]
    await store.schedule(CLIENT, b, TODAY + timedelta(days=5), ttl=86_400)  # moved later
    await store.unschedule(CLIENT, c)
    assert await store.timers_due(CLIENT, TODAY + timedelta(days=3), 10) == [(a, TODAY + timedelta(days=2))]


# Event stream ---------------------------------------------------------------------------


async def test_events_go_to_one_consumer_of_a_group(store: Store) -> None:
    events = [make_event() for _ in range(6)]
    await store.publish_event(events[0], ttl=3600)
    await store.ensure_group("g")
    await store.ensure_group("g")  # idempotent
    for e in events[1:]:
        await store.publish_event(e, ttl=3600)
    one = await store.read_events("g", "c1", 4, 0)
    two = await store.read_events("g", "c2", 4, 0)
    assert [d.event for d in one + two] == events  # in order, each once
    assert not any(d.redelivered for d in one + two)
    assert await store.read_events("g", "c1", 4, 0) == []


async def test_unsettled_events_are_claimed_after_idling(backend: Backend) -> None:
    store = backend.store
    event = make_event()
    await store.publish_event(event, ttl=3600)
    await store.ensure_group("g")
    (got,) = await store.read_events("g", "crashed", 1, 0)
    assert await store.claim_stale("g", "rescuer", 60_000, 10) == []  # not idle long enough
    await backend.pass_time(0.2)
    (claimed,) = await store.claim_stale("g", "rescuer", 100, 10)
    assert claimed.entry_id == got.entry_id
    assert claimed.event == event
    assert claimed.redelivered
    await store.ack_event("g", claimed.entry_id)
    await backend.pass_time(0.2)
    assert await store.claim_stale("g", "other", 100, 10) == []


async def test_retry_requeues_the_same_event_when_due(store: Store) -> None:
    event = make_event()
    await store.publish_event(event, ttl=3600)
    await store.ensure_group("g")
    (d,) = await store.read_events("g", "c", 1, 0)
    again = dataclasses.replace(event, attempt=1)
    await store.retry_event("g", d.entry_id, again, at_ms=5_000, ttl=3600)
    await store.retry_event("g", d.entry_id, again, at_ms=5_000, ttl=3600)  # settled: no second retry
    assert await store.release_retries(4_999, 10) == 0
    assert await store.read_events("g", "c", 10, 0) == []
    assert await store.release_retries(5_000, 10) == 1
    (back,) = await store.read_events("g", "c", 10, 0)
    assert back.event == again
    assert back.event.event_id == event.event_id  # the id is the idempotency key
    assert await store.release_retries(10_000, 10) == 0


async def test_dead_letters_keep_the_event_newest_first(store: Store) -> None:
    events = [make_event(), make_event()]
    for e in events:
        await store.publish_event(e, ttl=3600)
    await store.ensure_group("g")
    for d in await store.read_events("g", "c", 10, 0):
        await store.dead_letter("g", d.entry_id, d.event, ttl=3600)
    assert await store.dead_letters(10) == events[::-1]
    assert await store.read_events("g", "c", 10, 0) == []


async def test_a_group_made_before_the_stream_exists_still_gets_events(store: Store) -> None:
    await store.ensure_group("g")  # no stream yet: nothing is created (it would have no TTL)
    assert await store.read_events("g", "c", 10, 0) == []
    event = make_event()
    await store.publish_event(event, ttl=3600)
    assert await store.read_events("g", "c", 10, 0) == []  # creates the group from the start
    await store.ensure_group("g")
    (d,) = await store.read_events("g", "c", 10, 0)
    assert d.event == event


async def test_a_restarted_consumer_resumes_its_own_pending_entries(store: Store) -> None:
    events = [make_event(), make_event()]
    for e in events:
        await store.publish_event(e, ttl=3600)
    await store.ensure_group("g")
    first, second = await store.read_events("g", "w1", 2, 0)
    await store.ack_event("g", first.entry_id)
    assert await store.read_own_pending("g", "w2", 10) == []  # another consumer's: not yours
    (again,) = await store.read_own_pending("g", "w1", 10)
    assert (again.entry_id, again.event, again.redelivered) == (second.entry_id, events[1], True)
    await store.ack_event("g", again.entry_id)
    assert await store.read_own_pending("g", "w1", 10) == []


async def test_erasing_a_subjects_events_leaves_no_event_naming_it(store: Store) -> None:
    """Erasure: queued, pending, retrying and dead-lettered events naming the sid all go."""
    gone, kept = random_sid(CLIENT), random_sid(CLIENT)

    def event_for(sid: str) -> QueuedEvent:
        body = f'{{"data":{{"reason":"app_request","sid":"{sid}"}},"type":"subject.revoked"}}'
        return QueuedEvent("evt_" + secrets.token_hex(12), CLIENT, "subject.revoked", body)

    to_retry, to_dead, pending, queued = (event_for(gone) for _ in range(4))
    other = event_for(kept)
    for e in (to_retry, to_dead, pending):
        await store.publish_event(e, ttl=3600)
    await store.ensure_group("g")
    deliveries = {d.event.event_id: d for d in await store.read_events("g", "w1", 10, 0)}
    await store.retry_event("g", deliveries[to_retry.event_id].entry_id, to_retry, at_ms=5_000, ttl=3600)
    await store.dead_letter("g", deliveries[to_dead.event_id].entry_id, to_dead, ttl=3600)
    await store.publish_event(queued, ttl=3600)  # not yet read by anyone
    await store.publish_event(other, ttl=3600)

    assert await store.erase_events(gone) == 4
    assert await store.erase_events(gone) == 0
    assert await store.read_own_pending("g", "w1", 10) == []  # the pending delivery went too
    assert await store.dead_letters(10) == []
    assert await store.release_retries(10_000, 10) == 0
    assert [d.event for d in await store.read_events("g", "w2", 10, 0)] == [other]
    # Settling the erased delivery afterwards requeues nothing.
    await store.retry_event("g", deliveries[pending.event_id].entry_id, pending, at_ms=0, ttl=3600)
    assert await store.release_retries(10_000, 10) == 0
