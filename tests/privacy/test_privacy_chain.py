"""The tamper-evident audit stream: links, sinks, checkpoints, and what the verifier catches."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pytest
import structlog
from factories import make_settings, running
from privacy_logs import flows_log, read_events, run_flows, write_events

from service.audit.chain import CHECKPOINT, GENESIS, AuditChain, AuditStream, event_hash
from service.audit.events import Audit
from service.audit.logging import configure_logging
from service.privacy.report import ReportOptions, build_report


def kinds(report_issues: list[object]) -> set[str]:
    return {getattr(i, "kind") for i in report_issues}  # noqa: B009 - Issue is frozen and slotted


@pytest.mark.anyio
async def test_every_audit_event_is_a_link_and_the_run_ends_with_a_checkpoint(tmp_path: Path) -> None:
    events = [e for e in read_events(await flows_log(tmp_path / "log.jsonl")) if e.get("audit")]
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[0]["prev"] == GENESIS
    for before, after in itertools.pairwise(events):
        assert after["prev"] == before["hash"]
    assert all(event_hash(e) == e["hash"] for e in events)
    assert len({e["chain"] for e in events}) == 1
    last = events[-1]
    assert (last["event"], last["reason"], last["count"], last["head"]) == (
        CHECKPOINT, "shutdown", last["seq"], events[-2]["hash"],
    )  # fmt: skip


@pytest.mark.anyio
async def test_a_clean_log_verifies(tmp_path: Path) -> None:
    report = build_report([await flows_log(tmp_path / "log.jsonl")])
    assert report.violations == []
    assert [c.closed for c in report.chains] == [True]


@pytest.mark.anyio
async def test_edits_gaps_reordering_and_replacement_are_reported(tmp_path: Path) -> None:
    log = await flows_log(tmp_path / "log.jsonl")
    original = read_events(log)
    audit_at = [i for i, e in enumerate(original) if e.get("audit")]

    edited = [dict(e) for e in original]
    edited[audit_at[3]]["kind"] = "facial_estimation"
    assert "chain_edit" in kinds(build_report([write_events(tmp_path / "e", edited)]).violations)

    dropped = [e for i, e in enumerate(original) if i != audit_at[4]]
    issues = build_report([write_events(tmp_path / "d", dropped)]).violations
    assert "chain_gap" in kinds(issues)

    swapped = list(original)
    swapped[audit_at[2]], swapped[audit_at[5]] = swapped[audit_at[5]], swapped[audit_at[2]]
    assert "chain_reorder" in kinds(build_report([write_events(tmp_path / "r", swapped)]).violations)

    # A forged event that carries the right seq and a self-consistent hash still breaks the link.
    forged = [dict(e) for e in original]
    fake = forged[audit_at[4]]
    fake["prev"] = "f" * 64
    fake["hash"] = event_hash(fake)
    assert "chain_break" in kinds(build_report([write_events(tmp_path / "f", forged)]).violations)

    head_cut = [e for i, e in enumerate(original) if i not in audit_at[:2]]
    assert "chain_gap" in kinds(build_report([write_events(tmp_path / "h", head_cut)]).violations)

    duplicated = [*original, original[audit_at[1]]]
    assert "chain_duplicate" in kinds(build_report([write_events(tmp_path / "u", duplicated)]).violations)


@pytest.mark.anyio
async def test_truncation_is_caught_by_the_separate_checkpoint_file(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    settings = make_settings(audit={"checkpoint_every": 3, "checkpoint_file": checkpoints})
    log = await flows_log(tmp_path / "log.jsonl", settings)
    events = read_events(log)
    cps = read_events(checkpoints)
    assert len(cps) >= 3 and cps[-1]["reason"] == "shutdown"
    assert all(cp in events for cp in cps)  # the same sealed events, in both places
    # Every third event triggers an interval checkpoint right after it.
    assert [e["seq"] for e in events if e.get("event") == CHECKPOINT][:2] == [3, 7]
    ok = build_report([log], ReportOptions(checkpoint_files=(checkpoints,)))
    assert ok.violations == []

    last_cp = max(
        i for i, e in enumerate(events) if e.get("event") == CHECKPOINT and e["reason"] == "interval"
    )
    cut = write_events(tmp_path / "cut.jsonl", events[: last_cp - 1])
    without_file = build_report([cut])
    assert without_file.violations == []  # a clean prefix of a chain verifies ...
    assert "chain_open" in kinds(without_file.warnings)  # ... but is reported as not closed
    truncated = build_report([cut], ReportOptions(checkpoint_files=(checkpoints,)))
    assert "chain_truncated" in kinds(truncated.violations)


@pytest.mark.anyio
async def test_file_sink_holds_the_audit_events_and_stdout_the_rest(tmp_path: Path) -> None:
    audit_file = tmp_path / "audit" / "audit.jsonl"
    settings = make_settings(audit={"file": audit_file, "chain_id": "replica-a"})
    async with running(settings) as run:
        await run_flows(run)
        stdout = run.logs
    on_stdout = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert on_stdout and not any(e.get("audit") for e in on_stdout)
    in_file = read_events(audit_file)
    assert {e["event"] for e in in_file} >= {"evidence.received", "evidence.discarded", "record.stored"}
    assert all(e["chain"].startswith("replica-a-") for e in in_file)
    assert build_report([audit_file]).violations == []


@pytest.mark.anyio
async def test_two_processes_keep_two_chains_and_both_verify(tmp_path: Path) -> None:
    first = await flows_log(tmp_path / "a.jsonl")
    second = await flows_log(tmp_path / "b.jsonl")
    both = tmp_path / "both.jsonl"
    both.write_text(first.read_text() + second.read_text())
    report = build_report([both])
    assert len(report.chains) == 2 and report.violations == []


def test_audit_events_ignore_the_log_level() -> None:
    sink = io.StringIO()
    configure_logging(level="error", sink=sink, audit=AuditStream(AuditChain("t")))
    structlog.get_logger("x").info("dropped by the level")
    Audit().evidence_discarded(kind="self_declaration", check_id="chk_x")
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert [e["event"] for e in lines] == ["evidence.discarded"]


def test_time_based_checkpoint() -> None:
    now = [0.0]
    chain = AuditChain("t", every=1000, seconds=60, monotonic=lambda: now[0])
    sink = io.StringIO()
    configure_logging(sink=sink, audit=AuditStream(chain))
    audit = Audit()
    audit.emit("check.started")
    now[0] = 61.0
    audit.emit("check.completed")
    events = [json.loads(line)["event"] for line in sink.getvalue().splitlines()]
    assert events == ["check.started", "check.completed", CHECKPOINT]
