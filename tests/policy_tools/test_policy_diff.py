"""``ageband policy diff``: a summary first, then settings and decisions, filters, limits, JSON.

Plain output (no TTY) is sections separated by blank lines: a title, a tab-separated header,
then rows. The policies compared are the shipped packs and copies with one edit each.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from factories import POLICIES
from typer.testing import CliRunner

from service.cli.main import app
from service.policy.diff import diff_policies, grouped
from service.policy.loader import load_policy

runner = CliRunner()
Section = tuple[str, list[dict[str, str]]]


def _edited(
    tmp_path: Path, edits: Sequence[tuple[str, str, str]], extra: dict[str, str] | None = None
) -> Path:
    """A copy of the shipped packs with (file, old, new) edits and extra files."""
    folder = tmp_path / "new"
    shutil.copytree(POLICIES, folder, ignore=shutil.ignore_patterns("tests", "schema"))
    for name, old, new in edits:
        text = (folder / name).read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {name}"
        (folder / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    for name, text in (extra or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _diff(*args: str) -> tuple[list[str], dict[str, Section]]:
    result = runner.invoke(app, ["policy", "diff", *args])
    assert result.exit_code == 0, result.output
    blocks = result.output.split("\n\n")
    head = blocks[0].splitlines()
    sections: dict[str, Section] = {}
    if len(head) > 2:  # the summary follows the headline directly
        blocks = ["\n".join(head[2:]), *blocks[1:]]
        head = head[:2]
    else:
        blocks = blocks[1:]
    for block in blocks:
        title, header, *rows = block.strip("\n").splitlines()
        columns = header.split("\t")
        sections[title.split(" (")[0]] = (
            title,
            [dict(zip(columns, r.split("\t"), strict=True)) for r in rows],
        )
    return head, sections


def test_a_rule_change_reads_as_a_summary_a_setting_and_one_grouped_row(tmp_path: Path) -> None:
    rule = "actions: [suggest.friend]\n        actor: {bands: [under_13, 13_15"
    new = _edited(tmp_path, [("default.yaml", rule + ", 16_17]}", rule + "]}")])
    head, sections = _diff(str(POLICIES / "default.yaml"), str(new / "default.yaml"))
    assert head[0].startswith("policy ") and " → " in head[0]
    assert head[1] == "jurisdictions: 1 changed (default); 1 setting change(s), 125 decision change(s)"
    assert list(sections) == ["summary", "setting changes", "decision changes"]
    assert sections["summary"][1] == [
        {
            "jurisdiction": "default",
            "change": "changed",
            "settings": "1",
            "action": "suggest.friend",
            "decisions": "125",
            "now allowed": "125",
            "now denied": "0",
        }
    ]
    [setting] = sections["setting changes"][1]
    assert setting["setting"] == "rules.adults-not-suggested-to-minors.actor"
    assert setting["old"] == "band in 13_15, 16_17, under_13"
    assert setting["new"] == "band in 13_15, under_13"
    # 16_17 with no level or each of 4 levels on either edge (25), × 18_plus with no level or
    # each of 4 (5; the top band has no upper edge): 125 cells, one row.
    assert sections["decision changes"][1] == [
        {
            "jurisdiction": "default",
            "action": "suggest.friend",
            "actor": "16_17 (any level)",
            "target": "18_plus (any level)",
            "old": "deny (adults-not-suggested-to-minors)",
            "new": "allow (social-baseline)",
            "cells": "125",
        }
    ]


@pytest.mark.parametrize(
    ("old", "new", "setting", "before", "after"),
    [
        ("bands: {under_13: P180D, 13_15: P180D", "bands: {under_13: P90D, 13_15: P180D",
         "recheck.bands.under_13", "P180D", "P90D"),
        ("methods: {self_declaration: P90D}", "methods: {self_declaration: P30D}",
         "recheck.methods.self_declaration", "P90D", "P30D"),
        ("default: P365D", "default: P2W", "recheck.default", "P365D", "P14D"),
        ("waterfall: [os_signal, self_declaration, facial_estimation]",
         "waterfall: [self_declaration, os_signal, facial_estimation]",
         "waterfall", "os_signal, self_declaration, facial_estimation",
         "self_declaration, os_signal, facial_estimation"),
        ("grace: P14D", "grace: P7D", "grace", "P14D", "P7D"),
        ("attempts: {per_check: 5, per_method: 3}", "attempts: {per_check: 5, per_method: 2}",
         "attempts.per_method", "3", "2"),
        ("required_level: {under_13: basic, 13_15: basic, 16_17: basic, 18_plus: basic}",
         "required_level: {under_13: basic, 13_15: basic, 16_17: effective, 18_plus: basic}",
         "required_level.16_17", "basic", "effective"),
        ("per_ip: {max: 300, window: PT1H}", "per_ip: {max: 100, window: PT1H}",
         "abuse.per_ip", "300 per PT1H", "100 per PT1H"),
        ("recheck_requests: {deadline: P7D,", "recheck_requests: {deadline: P3D,",
         "recheck_requests.deadline", "P7D", "P3D"),
        ("pending_recheck: {upper_level: unconfirmed}", "pending_recheck: {upper_level: keep}",
         "pending_recheck.upper_level", "unconfirmed", "keep"),
        ("      deadline: P14D", "      deadline: P21D", "appeal.deadline", "P14D", "P21D"),
        ("guardian: {min_level: effective,", "guardian: {min_level: highly_effective,",
         "guardian.min_level", "effective", "highly_effective"),
        ("trusted: {min_band: under_13,", "trusted: {min_band: 13_15,",
         "trusted.min_band", "under_13", "13_15"),
    ],
)  # fmt: skip
def test_changes_that_are_not_decisions_are_reported(
    tmp_path: Path, old: str, new: str, setting: str, before: str, after: str
) -> None:
    folder = _edited(tmp_path, [("default.yaml", old, new)])
    head, sections = _diff(str(POLICIES), str(folder), "--jurisdiction", "default")
    assert "no changes" not in head[1]
    assert head[1].endswith(", 0 decision change(s)")
    changed = {r["setting"]: (r["old"], r["new"]) for r in sections["setting changes"][1]}
    assert changed == {setting: (before, after)}
    assert "decision changes" not in sections


def test_an_inherited_change_shows_in_every_jurisdiction_that_inherits_it(tmp_path: Path) -> None:
    folder = _edited(tmp_path, [("default.yaml", "grace: P14D", "grace: P10D")])
    _, sections = _diff(str(POLICIES), str(folder))
    grace = {r["jurisdiction"] for r in sections["setting changes"][1] if r["setting"] == "grace"}
    assert grace == set(load_policy(POLICIES).jurisdictions)


def test_policy_wide_changes_are_reported_under_a_star(tmp_path: Path) -> None:
    folder = _edited(tmp_path, [("default.yaml", "retention: P400D", "retention: P365D")])
    head, sections = _diff(str(POLICIES), str(folder))
    assert "(1 policy-wide, jurisdiction *)" in head[1]
    assert sections["setting changes"][1] == [
        {"jurisdiction": "*", "setting": "retention", "old": "P400D", "new": "P365D"}
    ]


def test_a_new_jurisdiction_is_compared_with_the_one_it_extends(tmp_path: Path) -> None:
    gb = (POLICIES / "GB.yaml").read_text(encoding="utf-8")
    fr = gb.replace("\n  GB:\n", "\n  FR:\n").replace("\n      GB:\n", "\n      FR:\n")
    folder = _edited(tmp_path, [], {"FR.yaml": fr})
    result = runner.invoke(app, ["policy", "diff", str(POLICIES), str(folder)])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) < 30  # not one line per cell of the new jurisdiction
    _, sections = _diff(str(POLICIES), str(folder))
    summary = sections["summary"][1]
    assert {(r["jurisdiction"], r["change"]) for r in summary} == {("FR", "added, vs default")}
    decisions = sections["decision changes"][1]
    assert {r["action"] for r in decisions} == {"content.view.adult"}
    # GB's stricter adult-content rules, compared with default's: effective adults now denied.
    assert {(r["actor"], r["target"]) for r in decisions} == {("18_plus@effective", "any")}


def test_filters_limit_the_summary_and_the_details(tmp_path: Path) -> None:
    rule = "actions: [suggest.friend]\n        actor: {bands: [under_13, 13_15"
    folder = _edited(
        tmp_path,
        [("default.yaml", rule + ", 16_17]}", rule + "]}"), ("default.yaml", "grace: P14D", "grace: P10D")],
    )
    _, everything = _diff(str(POLICIES), str(folder))
    assert len({r["jurisdiction"] for r in everything["summary"][1]}) > 1
    _, gb = _diff(str(POLICIES), str(folder), "--jurisdiction", "GB")
    assert {r["jurisdiction"] for r in gb["summary"][1]} == {"GB"}
    assert {r["jurisdiction"] for r in gb["setting changes"][1]} == {"GB"}
    _, other = _diff(str(POLICIES), str(folder), "-j", "GB", "--action", "profile.view")
    assert other["summary"][1][0]["action"] == "—"  # the grace change, and no decision on profile.view
    assert "decision changes" not in other
    _, friend = _diff(str(POLICIES), str(folder), "-j", "GB", "-j", "AU", "-a", "suggest.friend")
    assert {r["jurisdiction"] for r in friend["decision changes"][1]} == {"GB", "AU"}
    assert {r["action"] for r in friend["decision changes"][1]} == {"suggest.friend"}


def test_an_unknown_filter_is_an_error_naming_the_known_values() -> None:
    result = runner.invoke(app, ["policy", "diff", str(POLICIES), str(POLICIES), "--jurisdiction", "XX"])
    assert result.exit_code == 2
    assert "--jurisdiction XX: in neither policy" in result.stderr
    assert "GB" in result.stderr
    result = runner.invoke(app, ["policy", "diff", str(POLICIES), str(POLICIES), "--action", "profile.edit"])
    assert result.exit_code == 2
    assert "profile.view" in result.stderr


def test_long_lists_are_capped_unless_full(tmp_path: Path) -> None:
    folder = _edited(tmp_path, [("default.yaml", "grace: P14D", "grace: P10D")])
    total = len(load_policy(POLICIES).jurisdictions)
    _, capped = _diff(str(POLICIES), str(folder), "--limit", "2")
    title, rows = capped["setting changes"]
    assert len(rows) == 2
    assert f"(first 2 of {total}: --full for all" in title
    _, full = _diff(str(POLICIES), str(folder), "--limit", "2", "--full")
    assert len(full["setting changes"][1]) == total
    assert full["setting changes"][0] == "setting changes"


def test_json_has_every_change_and_agrees_with_the_summary(tmp_path: Path) -> None:
    rule = "actions: [suggest.friend]\n        actor: {bands: [under_13, 13_15"
    folder = _edited(tmp_path, [("default.yaml", rule + ", 16_17]}", rule + "]}")])
    result = runner.invoke(app, ["policy", "diff", str(POLICIES), str(folder), "--json", "--limit", "1"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["decisions"]) == sum(sum(j["decisions"].values()) for j in doc["jurisdictions"])
    assert len(doc["decisions"]) == 125 * len(doc["jurisdictions"])  # every jurisdiction inherits it
    first = doc["decisions"][0]
    assert set(first) == {"jurisdiction", "action", "actor", "target", "old", "new"}
    assert first["actor"].startswith("16_17") and first["target"].startswith("18_plus")
    assert len(doc["settings"]) == len(doc["jurisdictions"])
    assert doc["unchanged"] == []


def test_the_same_policy_has_no_changes() -> None:
    result = runner.invoke(app, ["policy", "diff", str(POLICIES), str(POLICIES)])
    assert result.exit_code == 0
    assert result.output.splitlines()[1] == "no changes: no setting and no decision differs"
    doc = json.loads(runner.invoke(app, ["policy", "diff", str(POLICIES), str(POLICIES), "--json"]).stdout)
    assert doc["settings"] == doc["decisions"] == doc["jurisdictions"] == []


def test_grouped_rows_cover_exactly_the_changed_cells(tmp_path: Path) -> None:
    folder = _edited(tmp_path, [("GB.yaml", "min_level: highly_effective}", "min_level: strict}")])
    diff = diff_policies(load_policy(POLICIES), load_policy(folder))
    groups = grouped(diff)
    assert diff.decisions
    assert sum(g.cells for g in groups) == len(diff.decisions)
    assert len(groups) < len(diff.decisions)


def test_a_removed_jurisdiction_is_counted_not_itemised(tmp_path: Path) -> None:
    folder = _edited(tmp_path, [])
    (folder / "AU.yaml").unlink()
    head, sections = _diff(str(POLICIES), str(folder))
    assert head[1].startswith("jurisdictions: 1 removed (AU)")
    rows = sections["summary"][1]
    assert {(r["jurisdiction"], r["change"], r["now allowed"], r["now denied"]) for r in rows} == {
        ("AU", "removed", "—", "—")
    }
    cells = len(load_policy(POLICIES).tables.party_keys) ** 2
    assert all(r["decisions"] == str(cells) for r in rows)
    assert "decision changes" not in sections
