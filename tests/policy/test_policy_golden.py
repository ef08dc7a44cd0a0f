"""Golden files for loader errors: every invalid policy names file, line and field path.

Each case in tests/policy/golden/ is ``NAME.yaml`` (or a directory ``NAME/`` of policy files)
beside ``NAME.errors.txt``, the expected ``str(PolicyError)`` with the golden directory
written as ``<dir>``. After a deliberate change to the messages, regenerate and review:

    AGEBAND_UPDATE_GOLDEN=1 pytest tests/policy
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from policy_paths import GOLDEN

from service.policy.loader import load_policy
from service.policy.yaml_source import PolicyError

UPDATE = os.environ.get("AGEBAND_UPDATE_GOLDEN") == "1"
CASES = sorted(p for p in GOLDEN.iterdir() if p.suffix == ".yaml" or p.is_dir())


def _render(exc: PolicyError) -> str:
    return str(exc).replace(str(GOLDEN), "<dir>") + "\n"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_invalid_policy_errors_match_golden_file(case: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(case)
    got = _render(caught.value)
    golden = GOLDEN / f"{case.stem}.errors.txt"
    if UPDATE:
        golden.write_text(got)
    assert golden.exists(), f"no {golden.name}: run AGEBAND_UPDATE_GOLDEN=1 pytest tests/policy"
    assert got == golden.read_text()


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_every_error_names_file_line_and_path(case: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(case)
    for issue in caught.value.issues:
        assert Path(issue.file).is_relative_to(GOLDEN)
        assert issue.line is not None and issue.line >= 1
        assert str(issue).startswith(f"{issue.file}:{issue.line}: {issue.path or '<root>'}: ")


def test_every_golden_file_has_a_case() -> None:
    stems = {p.stem for p in CASES}
    orphans = [p.name for p in GOLDEN.glob("*.errors.txt") if p.name.removesuffix(".errors.txt") not in stems]
    assert not orphans


def test_golden_cases_cover_the_required_errors() -> None:
    required = {
        "yaml_syntax",
        "duplicate_key",
        "unknown_field",
        "wrong_type",
        "unknown_method_in_waterfall",
        "unknown_level",
        "unknown_band_in_required_level",
        "missing_required_level",
        "extends_cycle",
        "extends_unknown",
        "check_ttl_over_15_minutes",
        "missing_default_jurisdiction",
        "band_gap",
        "empty_file",
        "section_in_two_files",
        "errors_in_every_file",
        "bare_number_durations",
    }
    assert required <= {p.stem for p in CASES}
    assert (GOLDEN / "section_in_two_files").is_dir()
    assert (GOLDEN / "errors_in_every_file").is_dir()
