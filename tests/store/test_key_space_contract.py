"""The contract of the whole key space, across every role: each key has a TTL and a documented,
pseudonymous name, keys expire, and the backend answers (every backend)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from store_backends import Backend, WholeStore
from store_factories import (
    CLIENT,
    NOW,
    SUBJECT_REF,
    make_appeal,
    make_check,
    make_event,
    make_item,
    make_recheck,
    make_record,
    make_sanction,
    random_sid,
    sid_for,
)

from service.audit.subjects import sid_ref
from service.store.key_classes import KEY_CLASSES, key_class_of
from service.store.records import PageLink, PageSession
from service.store.reviews import Connection, GuardianCode, GuardianLink
from service.store.roles import (
    DueEntry,
)

pytestmark = pytest.mark.anyio

TODAY = NOW.date()


async def write_one_of_everything(store: WholeStore) -> None:
    sid = sid_for(SUBJECT_REF)
    check = make_check(NOW, sid=sid)
    await store.checks.track_check(sid, check.check_id, ttl=900)
    await store.checks.create_check(check, ttl=900)
    await store.checks.update_check(check)
    await store.checks.claim_attempt(check.check_id, limit=3, ttl=900)
    await store.records.put_record(make_record(sid, recheck_at=TODAY - timedelta(days=1)), ttl=86_400)
    await store.revocations.revoke(sid, revoked_at=1_772_000_000, ttl=600)
    await store.once.use_once(f"state-for-{SUBJECT_REF}", ttl=300)
    store.subject_keys.subject_key(sid_ref(b"k" * 32, sid), b"\x01" * 32, ttl=86_400)
    item = make_item(sid)
    await store.content.create_item(item, ttl=86_400)
    await store.content.list_item(CLIENT, item.content_id, TODAY, ttl=86_400)
    await write_one_of_each_lifecycle_key(store, sid)
    await write_one_of_each_page_key(store, check.check_id)


async def write_one_of_each_page_key(store: WholeStore, check_id: str) -> None:
    """A page link and a page session, under the SHA-256 of made-up tokens."""
    link = PageLink(check_id, CLIENT, "https://app.example/done", "state", 1_900_000_000)
    await store.pages.put_link(hashlib.sha256(b"link-token").hexdigest(), link, ttl=900)
    session = PageSession(link, csrf=hashlib.sha256(b"csrf").hexdigest())
    await store.pages.put_session(hashlib.sha256(b"session-token").hexdigest(), session, ttl=900)


async def write_one_of_each_lifecycle_key(store: WholeStore, sid: str) -> None:
    """The abuse, sanction, timer and event key classes."""
    await store.counters.count_hit("attempts", sid, ttl=600)
    await store.counters.add_distinct("shopping", sid, "os_signal", ttl=600)
    await store.sanctions.put_sanction(make_sanction(sid), ttl=600)
    await store.sanctions.put_device_sanction("dev_" + sid[4:], make_sanction("dev_" + sid[4:]), ttl=600)
    await store.timers.schedule(CLIENT, sid, TODAY, ttl=86_400)
    await store.rechecks.put_recheck(make_recheck(sid), ttl=3600)
    await store.appeals.put_appeal(make_appeal(sid), ttl=3600)
    await store.guardians.put_code("gcd_" + sid[4:], GuardianCode(sid, CLIENT, "under_13", 1), ttl=600)
    await store.connections.put_connection(
        "tcn_" + sid[4:], Connection(CLIENT, "m", None, 1, None), [sid], ttl=600
    )
    await store.guardians.add_link(
        "lnk_" + sid[4:], sid, sid, GuardianLink("ref", "under_13", "effective"), ttl=3600
    )  # one index: one key of each
    await store.events.publish_event(make_event(), ttl=3600)
    await store.events.publish_event(make_event(), ttl=3600)
    await store.events.ensure_group("g")
    first, second = await store.events.read_events("g", "c", 2, 0)
    await store.events.retry_event("g", first.entry_id, first.event, at_ms=1, ttl=3600)
    await store.events.dead_letter("g", second.entry_id, second.event, ttl=3600)


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
    await store.checks.create_check(check, ttl=1)
    await store.checks.claim_attempt(check.check_id, limit=1, ttl=1)
    await store.records.put_record(short, ttl=1)
    await store.records.put_record(kept, ttl=3600)
    await store.revocations.revoke(sid, revoked_at=1_772_000_000, ttl=1)
    assert await store.once.use_once("nonce", ttl=1) is True

    await backend.pass_time(1.1)

    assert await store.checks.get_check(check.check_id) is None
    assert await store.checks.update_check(check) is False
    assert await store.checks.claim_attempt(check.check_id, limit=1, ttl=1) == 1  # a fresh counter
    assert await store.records.get_record(short.sid) is None
    assert await store.revocations.revoked_at(sid) is None
    assert await store.once.use_once("nonce", ttl=1) is True
    page = await store.records.due(CLIENT, TODAY, None, 10)
    assert page.entries == [DueEntry(kept.sid, day)]  # the expired record's entry is skipped


async def test_ping_answers(store: WholeStore) -> None:
    await store.ping()
