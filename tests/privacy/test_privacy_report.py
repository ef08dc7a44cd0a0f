"""``ageband privacy report``: lifecycles, statistics, violations, exit codes and outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from privacy_logs import flows_log, read_events, write_events
from rendered_tables import WIDTH
from typer.testing import CliRunner

from service.audit.chain import AuditChain
from service.cli.main import app
from service.privacy.report import build_report

runner = CliRunner()


def reseal(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rebuild a valid chain over edited events: the violations tested are not chain ones."""
    chain = AuditChain("resealed")
    return [dict(chain.seal(dict(e))) if e.get("audit") else e for e in events]


@pytest.mark.anyio
async def test_lifecycles_and_statistics(tmp_path: Path) -> None:
    report = build_report([await flows_log(tmp_path / "log.jsonl")])
    passed = [c for c in report.checks if c.outcome == "passed"]
    assert len(passed) == 1 and len(report.checks) == 2
    life = passed[0]
    assert life.events[:2] == ["check.started", "evidence.received"]
    assert {"evidence.discarded", "signal.derived", "record.stored", "check.completed"} <= set(life.events)
    assert life.evidence[0].discarded_at is not None and life.stored_fields
    assert report.checks_by_method() == {"self_declaration": {"open": 1, "passed": 1}}
    stats = report.evidence_lifetime()
    assert stats["count"] == 2 and stats["p50_ms"] is not None and stats["max_ms"] is not None
    assert 0 <= stats["p50_ms"] <= stats["max_ms"] < 5000


@pytest.mark.anyio
async def test_cli_clean_log_exits_zero_with_summary_and_json(tmp_path: Path) -> None:
    log = await flows_log(tmp_path / "log.jsonl")
    result = runner.invoke(app, ["privacy", "report", str(log)])
    assert result.exit_code == 0, result.output
    assert "no violations" in result.output and "p50" in result.output
    result = runner.invoke(app, ["privacy", "report", "--json", str(log)])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["statistics"]["checks"] == 2


@pytest.mark.anyio
async def test_violations_exit_non_zero_and_never_quote_the_value(tmp_path: Path) -> None:
    events = read_events(await flows_log(tmp_path / "log.jsonl"))
    received = next(i for i, e in enumerate(events) if e.get("event") == "evidence.received")
    discarded = next(i for i, e in enumerate(events) if e.get("event") == "evidence.discarded")
    stored = next(i for i, e in enumerate(events) if e.get("event") == "record.stored")
    events[stored]["fields"] = [*events[stored]["fields"], "birth_date"]
    events[received + 1 :] = [e for e in events[received + 1 :] if e is not events[discarded]]
    leak = "jane.doe@example.com"
    events.append({"event": "request", "level": "info", "detail": f"from {leak} born 1990-02-03"})
    log = write_events(tmp_path / "bad.jsonl", reseal(events))

    result = runner.invoke(app, ["privacy", "report", "--json", str(log)])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    found = {v["kind"] for v in data["violations"]}
    assert {"evidence_not_discarded", "field_not_in_inventory", "pii_in_log"} <= found
    detectors = {v["detail"].split()[0] for v in data["violations"] if v["kind"] == "pii_in_log"}
    assert {"email", "date_of_birth"} <= detectors
    assert leak not in result.stdout and "1990-02-03" not in result.stdout


@pytest.mark.anyio
async def test_evidence_kept_longer_than_the_bound(tmp_path: Path) -> None:
    log = await flows_log(tmp_path / "log.jsonl")
    result = runner.invoke(app, ["privacy", "report", "--evidence-bound-ms", "0", "--json", str(log)])
    assert result.exit_code == 1
    assert {v["kind"] for v in json.loads(result.stdout)["violations"]} == {"evidence_kept_too_long"}


def test_missing_file_exits_two(tmp_path: Path) -> None:
    result = runner.invoke(app, ["privacy", "report", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2


@pytest.mark.anyio
async def test_a_recent_date_is_found_anywhere_but_the_events_own_timestamp(tmp_path: Path) -> None:
    events = read_events(await flows_log(tmp_path / "log.jsonl"))
    assert build_report([write_events(tmp_path / "clean.jsonl", events)]).violations == []
    first, second = [i for i, e in enumerate(events) if e.get("audit")][:2]
    # A toddler's birth date: too recent for any age rule, found by its place instead.
    events[first]["detail"] = "2024-11-02"
    events[second]["timestamp"] = "born 2024-11-02"  # our field, but not our format
    report = build_report([write_events(tmp_path / "dates.jsonl", reseal(events))])
    found = [(v.kind, v.detail, v.seq) for v in report.violations]
    assert found == [
        ("pii_in_log", "date_of_birth at detail", 0),
        ("pii_in_log", "date_of_birth at timestamp", 1),
    ]


@pytest.mark.anyio
async def test_progress_shows_on_a_terminal_and_never_in_pipes(tmp_path: Path) -> None:
    log = await flows_log(tmp_path / "log.jsonl")
    for args in (["privacy", "report", str(log)], ["privacy", "report", "--json", str(log)]):
        piped = runner.invoke(app, args)
        assert piped.exit_code == 0, piped.output
        assert piped.stderr == ""
    on_terminal = runner.invoke(app, ["privacy", "report", "--json", str(log)], env=WIDTH)
    assert on_terminal.exit_code == 0, on_terminal.output
    assert "reading the log" in on_terminal.stderr
    assert json.loads(on_terminal.stdout)["ok"] is True  # stdout is the JSON alone


def test_build_report_tells_how_much_it_has_read(tmp_path: Path) -> None:
    log = tmp_path / "big.jsonl"
    lines = [
        json.dumps({"event": "noise", "n": i, "text": "grüße"}, ensure_ascii=False) for i in range(10_000)
    ]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    told: list[int] = []
    build_report([log, log], on_read=told.append)
    assert sum(told) == 2 * log.stat().st_size  # bytes in the end, though counted in characters
    assert len(told) > 2  # as reading goes, not only at the end of each file
