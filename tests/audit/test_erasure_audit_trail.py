"""Erasure reaches the audit trail: after ``POST /v1/subjects/erase`` nothing in the log ties to
the subject, the hash chain still verifies, and every check's lifecycle still reads.

Real flows through the API, on the memory store and on a real Redis. The log never holds a sid;
it names a subject by ``sid_hash``, a hash under the subject's own audit key, which erasure
deletes: even the operator, holding the pepper and the sid, can no longer find its events.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from factories import AUTH, Running, make_settings, running
from redis_server import delete_prefix, redis_url
from typer.testing import CliRunner

from service.audit.subjects import SubjectRefs, sid_ref, subject_hash
from service.cli.main import app as cli
from service.privacy.report import ReportOptions, build_report
from service.store.redis import RedisStore

PEPPER = "e" * 32
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store_settings(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    if request.param == "memory":
        yield {}
        return
    prefix = f"erase{uuid.uuid4().hex[:8]}"
    yield {"store": {"backend": "redis", "redis_url": redis_url(), "prefix": prefix}}
    store = RedisStore.from_url(redis_url(), prefix)
    try:
        await delete_prefix(store._conn.r, prefix)
    finally:
        await store.close()


async def _subject_life(run: Running) -> tuple[str, list[str], str, str]:
    """alice: a passed check, a refresh, a revocation, a re-check, an open check; then erased.
    Returns alice's sid, her check ids, and bob's (a bystander's) sid and check id."""
    sid, _ = await run.adult_token("alice")
    first = [e["check_id"] for e in run.log_lines() if e.get("event") == "check.started"]
    r = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)
    assert r.status_code == 200, r.text
    r = await run.http.post("/v1/subjects/revoke", json={"subject": "alice"}, headers=AUTH)
    assert r.status_code == 200, r.text
    again = await run.start_check("alice")
    r = await run.evidence(
        again["check_id"],
        {"method": "os_signal", "source": "google_play", "user_status": "VERIFIED", "age_lower": 18},
    )
    assert r.status_code == 200 and r.json()["outcome"] == "passed", r.text
    still_open = await run.start_check("alice")
    bob = await run.start_check("bob")
    r = await run.http.post("/v1/subjects/erase", json={"subject": "alice"}, headers=AUTH)
    assert r.status_code == 200 and r.json() == {"erased": True, "found": True}, r.text
    return sid, [*first, again["check_id"], still_open["check_id"]], bob["sid"], bob["check_id"]


async def _stored_audit_keys(run: Running) -> list[bytes]:
    """Every subject key the store holds now, on either backend."""
    store = run.services.store
    if isinstance(store, RedisStore):
        r = store._conn.r
        names = [k async for k in r.scan_iter(match=f"{store._conn.keys.prefix}:audk:*")]
        return [bytes.fromhex((await r.get(n)).decode()) for n in names]
    return [bytes.fromhex(str(v)) for k, v in store.contents().items() if ":audk:" in k]


async def test_an_erased_subject_is_in_no_audit_event_and_the_chain_still_verifies(
    store_settings: dict[str, Any], tmp_path: Path
) -> None:
    settings = make_settings(pepper=PEPPER, **store_settings)
    async with running(settings) as run:
        refs: SubjectRefs = run.services.removal.subject_refs
        sid, check_ids, bob_sid, bob_check = await _subject_life(run)
        bob_before = refs.ref(bob_sid)
        erasure = sid_ref(PEPPER.encode(), sid)
        # The subject's key is gone from the store (asking for it stores a new, unrelated one).
        assert run.services.store.subject_keys.shred_subject_key(erasure) is False
        # A later check of the same subject starts a new reference, unrelated to the erased one.
        later = await run.start_check("alice")
        keys_left = await _stored_audit_keys(run)
        logs = run.logs
    text = logs.getvalue()
    log = tmp_path / "audit.jsonl"
    await anyio.Path(log).write_text(text, encoding="utf-8")
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    audit = [e for e in events if e.get("audit") is True]

    # 0 events carry the sid, in any field, audit events or not.
    assert sid not in text
    assert not [e for e in events if "sid" in e]
    # alice's events carried one reference while she existed...
    named = {e["sid_hash"] for e in audit if e.get("check_id") in check_ids and e.get("sid_hash")}
    assert len(named) == 1
    (erased_hash,) = named
    alice_events = [e for e in audit if e.get("sid_hash") == erased_hash]
    assert len(alice_events) >= 8
    kinds = {e["event"] for e in alice_events}
    assert {"check.started", "record.stored", "token.issued", "check.completed", "subject.revoked"} <= kinds
    # ... and the erasure event does not repeat it: it names the erasure reference only.
    (erased_event,) = [e for e in audit if e["event"] == "subject.erased"]
    assert erased_event["sid_ref"] == erasure and erased_event["sid_hash"] is None
    # The later check is a new life: its reference is not the erased one.
    later_events = [e for e in audit if e.get("check_id") == later["check_id"]]
    assert later_events and {e["sid_hash"] for e in later_events} != {erased_hash}
    # The bystander keeps his reference: his key was not touched.
    assert {e["sid_hash"] for e in audit if e.get("check_id") == bob_check} == {bob_before}

    # With the pepper and the sid, no key left in the store recomputes the erased reference (nor
    # any reference in the log: bob's and the new life's keys give other values for the sid).
    assert len(keys_left) == 2  # bob's, and alice's new life's
    assert not {subject_hash(k, sid) for k in keys_left} & named

    # The chain verifies, each check's lifecycle is rebuilt, and the erasure checks out.
    report = build_report([log], ReportOptions(erased=(erasure,)))
    assert report.violations == [], report.violations
    lifecycles = {c.check_id: c for c in report.checks}
    assert [lifecycles[c].outcome for c in check_ids] == ["passed", "passed", "open"]
    assert lifecycles[check_ids[0]].events[0] == "check.started"
    assert "evidence.discarded" in lifecycles[check_ids[1]].events
    result = CliRunner().invoke(cli, ["privacy", "report", "--erased", erasure, str(log)])
    assert result.exit_code == 0, result.output


async def test_report_flags_a_sid_in_the_log_and_an_erasure_it_cannot_find(tmp_path: Path) -> None:
    async with running(make_settings(pepper=PEPPER)) as run:
        sid, _, _, _ = await _subject_life(run)
        logs = run.logs
    events = [json.loads(line) for line in logs.getvalue().splitlines() if line.strip()]
    erasure = sid_ref(PEPPER.encode(), sid)
    # A log written by a service that still logged sids: one event carries it (chain re-sealed is
    # not needed: the finding is about the content, and an edit is a violation of its own).
    leaky = [*events[:3], {**events[3], "detail": f"subject {sid}"}, *events[4:]]
    log = tmp_path / "leaky.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in leaky), encoding="utf-8")
    result = CliRunner().invoke(cli, ["privacy", "report", "--json", "--erased", erasure, str(log)])
    assert result.exit_code == 1
    kinds = {v["kind"] for v in json.loads(result.stdout)["violations"]}
    assert "sid_in_log" in kinds
    assert sid not in result.stdout  # the finding names the place, never the sid
    # An erasure reference with no erasure in the log.
    clean = tmp_path / "clean.jsonl"
    clean.write_text(logs.getvalue(), encoding="utf-8")
    other = sid_ref(PEPPER.encode(), "sid_" + "x" * 43)
    result = CliRunner().invoke(cli, ["privacy", "report", "--json", "--erased", other, str(clean)])
    assert result.exit_code == 1
    assert [v["kind"] for v in json.loads(result.stdout)["violations"]] == ["erasure_not_found"]
    # An erasure event that names the subject's reference ties it to her earlier events.
    linked = [
        {**e, "sid_hash": "sh_" + "0" * 32} if e.get("event") == "subject.erased" else e for e in events
    ]
    log.write_text("".join(json.dumps(e) + "\n" for e in linked), encoding="utf-8")
    result = CliRunner().invoke(cli, ["privacy", "report", "--json", "--erased", erasure, str(log)])
    assert "erasure_linked" in {v["kind"] for v in json.loads(result.stdout)["violations"]}
