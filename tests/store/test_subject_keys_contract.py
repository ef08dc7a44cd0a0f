"""The SubjectKeyStore contract: the audit trail's per-subject keys (every backend)."""

from __future__ import annotations

import secrets

import pytest
from store_backends import Backend, WholeStore
from store_factories import random_sid

from service.audit.subjects import SubjectRefs, sid_ref
from service.store.key_classes import key_class_of
from service.store.keys import Keys
from service.store.roles import SubjectKeyStore

pytestmark = pytest.mark.anyio

PEPPER = b"p" * 32
DAY = 86_400


@pytest.fixture
def subject_keys(store: WholeStore) -> SubjectKeyStore:
    return store.subject_keys


async def test_the_first_key_stays_until_shredded(subject_keys: SubjectKeyStore) -> None:
    ref = sid_ref(PEPPER, random_sid())
    first, other = secrets.token_bytes(32), secrets.token_bytes(32)
    assert subject_keys.subject_key(ref, first, DAY) == first
    assert subject_keys.subject_key(ref, other, DAY) == first  # a second replica gets the same key
    assert subject_keys.shred_subject_key(ref) is True
    assert subject_keys.shred_subject_key(ref) is False  # idempotent
    assert subject_keys.subject_key(ref, other, DAY) == other  # a new subject life, a new key


async def test_a_key_is_named_by_the_erasure_reference_and_holds_no_identity(backend: Backend) -> None:
    sid = random_sid()
    ref = sid_ref(PEPPER, sid)
    key = secrets.token_bytes(32)
    backend.store.subject_keys.subject_key(ref, key, 30 * DAY)
    raw = await backend.raw_keys()
    assert list(raw) == [Keys(backend.prefix).subject_key(ref)]
    name = next(iter(raw))
    assert sid not in name
    kc = key_class_of(name, backend.prefix)
    assert kc is not None and kc.name == "audit_subject_key"


async def test_each_use_extends_the_key_to_the_retention(backend: Backend) -> None:
    ref = sid_ref(PEPPER, random_sid())
    keys = backend.store.subject_keys
    keys.subject_key(ref, secrets.token_bytes(32), 600)
    (ttl,) = (await backend.raw_keys()).values()
    assert ttl is not None and 590 < ttl <= 600
    keys.subject_key(ref, secrets.token_bytes(32), 400 * DAY)
    (ttl,) = (await backend.raw_keys()).values()
    assert ttl is not None and ttl > 399 * DAY
    keys.subject_key(ref, secrets.token_bytes(32), 600)  # never shortened
    (ttl,) = (await backend.raw_keys()).values()
    assert ttl is not None and ttl > 399 * DAY


async def test_refs_agree_across_replicas_and_change_after_shredding(store: WholeStore) -> None:
    sid = random_sid()
    one, two = SubjectRefs(PEPPER, store.subject_keys, DAY), SubjectRefs(PEPPER, store.subject_keys, DAY)
    before = one.ref(sid)
    assert before == two.ref(sid) != one.ref(random_sid())
    assert sid not in before
    assert one.shred(sid) is True
    after = one.ref(sid)
    assert after != before


@pytest.mark.parametrize("ttl", [0, -5])
async def test_subject_keys_need_a_positive_ttl(subject_keys: SubjectKeyStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        subject_keys.subject_key(sid_ref(PEPPER, random_sid()), secrets.token_bytes(32), ttl)
