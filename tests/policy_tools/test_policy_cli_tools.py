"""ageband policy lint / test / explain / diff, through typer's runner (plain output: no TTY)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from factories import POLICIES
from typer.testing import CliRunner

from service.cli.main import app
from service.cli.scenarios import run_scenario
from service.policy.loader import load_policy
from service.policy.testing import Suite, load_suite, run_case, suite_files

runner = CliRunner()
GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.yaml"))


def _with_default(tmp_path: Path, overlay: Path) -> Path:
    folder = tmp_path / "policy"
    folder.mkdir()
    shutil.copy(POLICIES / "default.yaml", folder / "default.yaml")
    shutil.copy(overlay, folder / "zz_case.yaml")
    return folder


@pytest.mark.parametrize("case", CASES)
def test_lint_messages_match_golden_files(case: str, tmp_path: Path) -> None:
    folder = _with_default(tmp_path, GOLDEN / f"{case}.yaml")
    result = runner.invoke(app, ["policy", "lint", str(folder)])
    text = result.output.replace(str(folder), "<dir>")
    golden = GOLDEN / f"{case}.lint.txt"
    if os.environ.get("AGEBAND_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    assert result.exit_code == (1 if "error [" in text else 0)


def test_lint_of_the_shipped_policies_is_clean_even_when_strict() -> None:
    result = runner.invoke(app, ["policy", "lint", str(POLICIES), "--strict"])
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output


def test_lint_strict_fails_on_warnings(tmp_path: Path) -> None:
    folder = _with_default(tmp_path, GOLDEN / "rule_problems.yaml")
    assert runner.invoke(app, ["policy", "lint", str(folder), "--strict"]).exit_code == 1


# The shipped suites, one pytest case each: the same data the CLI runs.
SUITE_CASES = [(f, c.name) for f in suite_files(POLICIES) for c in load_suite(f).tests]
SCENARIOS = [(f, s.name) for f in suite_files(POLICIES) for s in load_suite(f).scenarios]
SHIPPED = load_policy(POLICIES)


@pytest.mark.parametrize(("file", "name"), SUITE_CASES, ids=[n for _, n in SUITE_CASES])
def test_shipped_policy_suites(file: Path, name: str) -> None:
    suite = load_suite(file)
    case = next(c for c in suite.tests if c.name == name)
    assert run_case(SHIPPED, suite, case) is None


@pytest.mark.parametrize(("file", "name"), SCENARIOS, ids=[n for _, n in SCENARIOS])
def test_shipped_policy_scenarios(file: Path, name: str) -> None:
    suite = load_suite(file)
    scenario = next(s for s in suite.scenarios if s.name == name)
    assert asyncio.run(run_scenario(POLICIES, suite, scenario)) is None


TYPED_2011 = {"method": "self_declaration", "birth_year": 2011}


def test_a_scenario_reports_the_step_that_did_not_do_what_it_expects(tmp_path: Path) -> None:
    suite = Suite.model_validate(
        {
            "name": "wrong",
            "now": "2026-03-10T12:00:00Z",
            "scenarios": [
                {
                    "name": "a poser expected to be confirmed",
                    "steps": [
                        {"check": {"subject": "p", "evidence": [TYPED_2011]},
                         "expect": {"band": "13_15", "upper_level": "basic"}},
                    ],
                }
            ],
        }
    )  # fmt: skip
    failure = asyncio.run(run_scenario(POLICIES, suite, suite.scenarios[0]))
    assert failure == "step 1: upper_level: expected 'basic', got None"


def test_policy_test_command_and_junit_xml(tmp_path: Path) -> None:
    junit = tmp_path / "out.xml"
    result = runner.invoke(app, ["policy", "test", str(POLICIES), "--junit-xml", str(junit)])
    assert result.exit_code == 0, result.output
    assert f"{len(SUITE_CASES) + len(SCENARIOS)} passed, 0 failed" in result.output
    root = ET.parse(junit).getroot()  # noqa: S314  # our own file
    assert sum(int(s.get("tests", "0")) for s in root) == len(SUITE_CASES) + len(SCENARIOS)


def test_policy_test_reports_a_failing_case(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    (folder / "tests").mkdir(parents=True)
    shutil.copy(POLICIES / "default.yaml", folder / "default.yaml")
    (folder / "tests" / "x_test.yaml").write_text(
        "name: wrong\nnow: 2026-01-01T00:00:00Z\ntests:\n"
        "  - name: adults see teens (wrong)\n    jurisdiction: default\n    action: profile.view\n"
        "    actor: {band: 18_plus}\n    target: {band: 13_15}\n    expect: {effect: allow}\n"
    )
    junit = tmp_path / "j.xml"
    result = runner.invoke(app, ["policy", "test", str(folder), "--junit-xml", str(junit)])
    assert result.exit_code == 1
    assert "FAIL wrong: adults see teens (wrong)" in result.output
    assert "effect: expected 'allow', got 'deny'" in result.output
    assert ET.parse(junit).getroot().find(".//failure") is not None  # noqa: S314


def test_explain_shows_the_trusted_connection_view() -> None:
    confirmed = ["--actor-level", "effective", "--actor-upper-level", "effective"]
    confirmed += ["--target-level", "effective", "--target-upper-level", "effective"]
    args = ["policy", "explain", "--jurisdiction", "default", "--action", "message.send", *confirmed]
    apart = [*args, "--actor", "under_13", "--target", "16_17"]
    strangers = runner.invoke(app, apart)
    assert strangers.exit_code == 0, strangers.output
    lines = strangers.output.splitlines()
    assert (
        lines[0] == "DENY default message.send: actor under_13@effective (upper effective) → "
        "target 16_17@effective (upper effective)"
    )
    assert "rule minor-bands-apart" in lines[1]
    assert (
        "trusted connections: min band under_13, across the adult line: no; "
        "relaxable rules: minor-bands-apart" in lines
    )
    assert "these bands may have a trusted connection: --trusted decides as with one" in lines
    assert any(line.startswith("minor-bands-apart\tdeny\t0\tyes\tmatched\tyes\t◀") for line in lines)
    assert any(
        line.startswith("adults-cannot-reach-minors\tdeny\t0\tno\t") and "\tno\t" in line for line in lines
    )
    # With a connection both confirmed, the relaxable rule is set aside, as decisions do.
    siblings = runner.invoke(app, [*apart, "--trusted"])
    assert siblings.exit_code == 0, siblings.output
    lines = siblings.output.splitlines()
    assert lines[0].startswith("ALLOW default message.send: actor under_13") and lines[0].endswith(
        "(trusted connection)"
    )
    assert "minor-bands-apart\t—\t—\t—\tset aside: trusted connection\tyes\t" in lines
    # Never across the adult-minor line in the bundled packs: --trusted changes nothing there.
    across = runner.invoke(app, [*args, "--actor", "18_plus", "--target", "16_17", "--trusted"])
    lines = across.output.splitlines()
    assert lines[0].startswith("DENY") and "(trusted connection)" not in lines[0]
    assert (
        "a trusted connection is not honoured for these bands: it never crosses the adult-minor line here "
        "(trusted.across_adult_line: false)"
    ) in lines
    unknown = runner.invoke(app, [*args, "--target", "16_17", "--trusted"])
    assert (
        "a trusted connection is not honoured for these bands: a party of unknown age is never trusted"
        in (unknown.output.splitlines())
    )


def test_explain_names_the_rule_and_why() -> None:
    args = ["policy", "explain", "--jurisdiction", "GB", "--action", "profile.view"]
    result = runner.invoke(app, [*args, "--actor", "18_plus", "--target", "13_15"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "DENY GB profile.view: actor 18_plus → target 13_15"
    assert "rule adults-cannot-reach-minors, reason minor_account_protected" in lines[1]
    assert any(line.startswith("adults-cannot-reach-minors\tdeny\t0\tyes\tmatched\tno\t◀") for line in lines)
    assert any("does not cover profile.view" in line for line in lines)
    unknown = runner.invoke(app, [*args, "--actor", "18_plus"])
    assert "target of unknown age is evaluated as under_13" in unknown.output
    bad = runner.invoke(app, [*args, "--actor", "grown-up"])
    assert bad.exit_code == 2
