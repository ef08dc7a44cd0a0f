"""The committed policy JSON Schema: generated from the model, and the policy files obey it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from policy_paths import CASES, POLICIES, SCHEMA_FILE
from typer.testing import CliRunner

from service.policy.schema import policy_json_schema, render_policy_schema
from service.policy.yaml_source import read

# ISO 8601 durations as policies write them (P400D, PT15M, P2W); pydantic also reads them.
ISO_DURATION = re.compile(r"^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")

POLICY_FILES = sorted(POLICIES.glob("*.yaml"))
VALID_CASES = sorted(CASES.glob("*.yaml"))


def _validator() -> Draft202012Validator:
    checker = FormatChecker()
    checker.checks("duration")(lambda value: not isinstance(value, str) or bool(ISO_DURATION.match(value)))
    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text()), format_checker=checker)


def _errors(document: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(document)]


def test_committed_schema_matches_the_model() -> None:
    assert SCHEMA_FILE.read_text() == render_policy_schema(), (
        "policies/schema/policy.schema.json drifted: run "
        "'ageband policy schema --out policies/schema/policy.schema.json'"
    )


def test_schema_is_a_valid_draft_2020_12_schema_with_an_id() -> None:
    schema = policy_json_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:ageband:policy:v1"
    assert schema["title"]
    assert {"apiVersion", "kind", "bands", "jurisdictions"} <= set(schema["properties"])
    assert schema["required"] == ["apiVersion", "kind"]


def test_durations_are_strings_with_format_duration() -> None:
    grace = policy_json_schema()["$defs"]["JurisdictionSpec"]["properties"]["grace"]
    duration = next(s for s in grace["anyOf"] if s.get("type") == "string")
    assert duration["format"] == "duration"
    assert duration["pattern"] == ISO_DURATION.pattern  # editors refuse "14 days" as the loader does


@pytest.mark.parametrize("file", POLICY_FILES + VALID_CASES, ids=lambda p: p.name)
def test_policy_files_validate_against_the_schema(file: Path) -> None:
    document, _ = read(file)  # as the service reads it: 13_15 and no stay strings
    assert _errors(document) == []


@pytest.mark.parametrize("file", POLICY_FILES + VALID_CASES, ids=lambda p: p.name)
def test_policy_files_point_editors_at_the_schema(file: Path) -> None:
    header = file.read_text().splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", header)
    assert match, f"{file.name} has no yaml-language-server schema header"
    assert (file.parent / match.group(1)).resolve() == SCHEMA_FILE


def test_schema_rejects_what_the_loader_rejects() -> None:
    document, _ = read(CASES / "base.yaml")
    assert _errors({**document, "colour": "red"}) == [
        ": Additional properties are not allowed ('colour' was unexpected)"
    ]
    bad_key = {**document, "jurisdictions": {"united kingdom": {"extends": "default"}}}
    assert _errors(bad_key) == [
        "jurisdictions: 'united kingdom' does not match any of the regexes: '^[A-Za-z][A-Za-z0-9_-]{0,31}$'"
    ]
    bad_duration = json.loads(json.dumps(document))
    bad_duration["jurisdictions"]["default"]["grace"] = "two weeks"
    assert [e.split(":")[0] for e in _errors(bad_duration)] == ["jurisdictions/default/grace"]
    bad_duration["jurisdictions"]["default"]["grace"] = "P14D"
    assert _errors(bad_duration) == []
    assert _errors({**document, "apiVersion": "ageband/v2"})


def test_cli_writes_and_checks_the_schema(tmp_path: Path) -> None:
    from service.cli.main import app  # the CLI pulls in the whole app: import it only here

    runner = CliRunner()
    committed = runner.invoke(app, ["policy", "schema", "--out", str(SCHEMA_FILE), "--check"])
    assert committed.exit_code == 0, committed.output

    out = tmp_path / "schema" / "policy.schema.json"
    written = runner.invoke(app, ["policy", "schema", "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text() == render_policy_schema()

    out.write_text("{}\n")
    stale = runner.invoke(app, ["policy", "schema", "--out", str(out), "--check"])
    assert stale.exit_code == 1

    printed = runner.invoke(app, ["policy", "schema"])
    assert printed.exit_code == 0
    assert json.loads(printed.stdout)["$id"] == "urn:ageband:policy:v1"
