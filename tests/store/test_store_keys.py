"""Key names: one place, pseudonyms only, hash tags that keep related keys in one slot."""

from __future__ import annotations

import pytest
from redis.crc import key_slot
from store_factories import SUBJECT_REF, random_sid

from service.store.key_classes import KEY_CLASSES, key_class_of
from service.store.keys import Keys, require_ttl

CHECK_ID = "chk_tb7zd0_v-fdQkmmDNQHi99SBlbrsA"


def test_names_use_the_prefix_and_hash_tags() -> None:
    keys = Keys()
    sid = random_sid()
    assert keys.check(CHECK_ID) == f"ageband:chk:{{{CHECK_ID}}}"
    assert keys.attempts(CHECK_ID) == f"ageband:chk:{{{CHECK_ID}}}:attempts"
    assert keys.record(sid) == f"ageband:sub:{{{sid}}}:rec"
    assert keys.revoked(sid) == f"ageband:sub:{{{sid}}}:rev"
    assert keys.due("acme-app") == "ageband:due:{acme-app}"
    assert Keys("staging").due("acme-app") == "staging:due:{acme-app}"
    assert Keys("staging").pattern() == "staging:*"


def test_keys_used_together_share_a_cluster_slot() -> None:
    keys = Keys()
    sid = random_sid()
    assert key_slot(keys.check(CHECK_ID).encode()) == key_slot(keys.attempts(CHECK_ID).encode())
    assert key_slot(keys.record(sid).encode()) == key_slot(keys.revoked(sid).encode())


def test_single_use_names_hold_a_hash_not_the_value() -> None:
    keys = Keys()
    name = keys.once(SUBJECT_REF)
    assert SUBJECT_REF not in name
    assert name == keys.once(SUBJECT_REF)
    assert name != keys.once(SUBJECT_REF + "x")


@pytest.mark.parametrize("bad", ["", "a{b", "a}b", "a b", "line\nbreak", "x" * 257])
def test_parts_that_would_break_a_name_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="cannot be used in a key name") as info:
        Keys().record(bad)
    if bad:
        assert bad not in str(info.value)  # the message names the part, not the value
    with pytest.raises(ValueError, match="prefix"):
        Keys(bad)


def test_every_key_class_matches_its_own_keys_only() -> None:
    keys = Keys("p")
    sid = random_sid()
    made = {
        "check": keys.check(CHECK_ID),
        "check_attempts": keys.attempts(CHECK_ID),
        "record": keys.record(sid),
        "revocation": keys.revoked(sid),
        "due_index": keys.due("acme-app"),
        "single_use": keys.once("jti"),
        "abuse_counter": keys.counter("attempts", sid),
        "abuse_set": keys.distinct("shopping", sid),
        "sanction": keys.sanction(sid),
        "device_sanction": keys.device_sanction("dev_" + sid[4:]),
        "subject_checks": keys.subject_checks(sid),
        "recheck_request": keys.recheck_request(sid),
        "appeal": keys.appeal(sid),
        "guardian_code": keys.guardian_code("gcd_x"),
        "guardian_link": keys.guardian_link("lnk_x"),
        "guardian_links": keys.guardian_links(sid),
        "connection": keys.connection("tcn_x"),
        "connections": keys.connections(sid),
        "timers": keys.timers("acme-app"),
        "event_stream": keys.events(),
        "event_retries": keys.retries(),
        "event_dead_letters": keys.dead(),
        "audit_subject_key": keys.subject_key("sref_" + "ab" * 16),
        "content_item": keys.content("cnt_" + sid[4:]),
        "subject_content": keys.subject_content(sid),
        "content_list": keys.content_list("acme-app"),
        "page_link": keys.page_link("a" * 64),
        "page_session": keys.page_session("b" * 64),
        "page_index": keys.page_index("chk_x_y"),
    }
    assert set(made) == {kc.name for kc in KEY_CLASSES}
    for name, key in made.items():
        matching = [kc.name for kc in KEY_CLASSES if kc.regex("p").fullmatch(key)]
        assert matching == [name]
        assert key_class_of(key, "other") is None
    assert key_class_of("p:sub:{x}:secret", "p") is None
    assert key_class_of("p:chk:{a}{b}", "p") is None


def test_key_classes_say_what_must_survive_a_restart() -> None:
    survive = {kc.name for kc in KEY_CLASSES if kc.survives_restart}
    assert survive == {
        "record", "revocation", "due_index", "single_use",
        "sanction", "device_sanction", "timers", "event_stream", "event_retries", "event_dead_letters",
        "recheck_request", "appeal", "guardian_link", "guardian_links", "connection", "connections",
        "audit_subject_key", "content_item", "subject_content", "content_list",
    }  # fmt: skip
    for kc in KEY_CLASSES:
        assert kc.holds
        assert kc.purpose
        assert kc.ttl_source
        assert kc.on_loss


@pytest.mark.parametrize("ttl", [0, -1, True, 1.5])
def test_require_ttl_refuses_anything_but_positive_seconds(ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        require_ttl(ttl)
    assert require_ttl(1) == 1
