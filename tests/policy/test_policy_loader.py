"""The policy loader: the bundled policy, versions, inheritance, and names YAML 1.1 would mangle."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from policy_paths import CASES, POLICIES

from service.policy.loader import load_policy
from service.policy.model import OnExhausted, OnInconclusive
from service.policy.yaml_source import PolicyError, read


def test_bundled_policy_loads() -> None:
    policy = load_policy(POLICIES)
    assert policy.bands.names == ("under_13", "13_15", "16_17", "18_plus")
    assert policy.levels.names == ("basic", "effective", "highly_effective", "strict")
    assert "default" in policy.jurisdictions
    assert set(policy.jurisdiction("default").waterfall) <= set(policy.methods)
    assert len(policy.version) == 16
    assert policy.files == tuple(str(p) for p in sorted(POLICIES.glob("*.yaml")))


def test_bundled_policy_directory_skips_tests_and_schema() -> None:
    assert not any("/tests/" in f or "/schema/" in f for f in load_policy(POLICIES).files)


def test_version_is_stable_across_runs() -> None:
    """Same files, same version: in this process and in a fresh one with other hash seeds."""
    here = load_policy(POLICIES).version
    assert load_policy(POLICIES).version == here
    code = "import sys; from pathlib import Path; from service.policy.loader import load_policy; "
    code += "print(load_policy(Path(sys.argv[1])).version)"
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(  # noqa: S603  # our own interpreter, fixed arguments
            [sys.executable, "-c", code, str(POLICIES)], capture_output=True, text=True, check=True, env=env
        )
        assert run.stdout.strip() == here


def test_version_changes_when_a_value_changes(tmp_path: Path) -> None:
    base = (CASES / "base.yaml").read_text()
    changed = tmp_path / "changed.yaml"
    changed.write_text(base.replace("grace: P14D", "grace: P15D"))
    assert load_policy(changed).version != load_policy(CASES / "base.yaml").version
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(base.replace("why: {en: To keep", "why: {en: So as to keep"))
    assert load_policy(renamed).version != load_policy(CASES / "base.yaml").version


def test_version_ignores_comments_order_and_spelling_of_defaults(tmp_path: Path) -> None:
    base = (CASES / "base.yaml").read_text()
    same = tmp_path / "same.yaml"
    same.write_text(
        "# another comment\n"
        + base.replace("grace: P14D", "grace: PT336H").replace(  # the same duration, spelt otherwise
            "{class: self_declaration, level: basic, on_inconclusive: youngest}",
            "{on_inconclusive: youngest, level: basic, class: self_declaration, buffer: 0}",
        )
    )
    assert same.read_text() != base
    assert load_policy(same).version == load_policy(CASES / "base.yaml").version


def test_version_is_the_same_when_the_rules_are_split_over_files(tmp_path: Path) -> None:
    base = (CASES / "base.yaml").read_text()
    head, jurisdictions = base.split("jurisdictions:\n")
    (tmp_path / "a_common.yaml").write_text(head)
    (tmp_path / "b_places.yaml").write_text(
        "apiVersion: ageband/v1\nkind: AgePolicy\njurisdictions:\n" + jurisdictions
    )
    split = load_policy(tmp_path)
    assert len(split.files) == 2
    assert split.version == load_policy(CASES / "base.yaml").version


def test_extends_inherits_overrides_and_merges_maps() -> None:
    policy = load_policy(CASES / "extends.yaml")
    default, eu, de = (policy.jurisdiction(c) for c in ("default", "eu", "de"))

    # eu overrides scalars and lists it sets, inherits the rest
    assert eu.waterfall == ("facial_estimation", "os_signal")
    assert eu.on_exhausted is OnExhausted.FAIL
    assert eu.on_inconclusive is OnInconclusive.STEP_UP
    assert (eu.grace, eu.check_ttl) == (timedelta(days=14), timedelta(minutes=10))
    assert (eu.per_check_attempts, eu.per_method_attempts) == (6, 2)
    assert eu.recheck_default == timedelta(days=365)

    # maps merge key by key, nearer jurisdictions win
    assert eu.required_level == {
        "under_13": "basic",
        "13_15": "basic",
        "16_17": "basic",
        "18_plus": "effective",
    }
    assert eu.recheck_bands == {"under_13": timedelta(days=180), "13_15": timedelta(days=120)}
    assert de.required_level == {
        "under_13": "basic",
        "13_15": "basic",
        "16_17": "effective",
        "18_plus": "effective",
    }
    assert de.recheck_methods == {"self_declaration": timedelta(days=30)}
    assert de.recheck_bands == eu.recheck_bands

    # a grandchild overrides its parent and inherits from its grandparent
    assert de.waterfall == eu.waterfall
    assert de.on_exhausted is OnExhausted.FAIL
    assert (de.grace, de.check_ttl, de.recheck_default) == (
        timedelta(days=7),
        timedelta(minutes=5),
        timedelta(days=200),
    )

    # the parent is untouched by its children
    assert default.required_level["18_plus"] == "basic"
    assert default.on_exhausted is OnExhausted.YOUNGEST
    assert default.recheck_methods == {"self_declaration": timedelta(days=90)}


def test_recheck_interval_takes_the_shortest_that_applies() -> None:
    de = load_policy(CASES / "extends.yaml").jurisdiction("de")
    assert de.recheck_interval("18_plus", "facial_estimation") == timedelta(days=200)
    assert de.recheck_interval("13_15", "facial_estimation") == timedelta(days=120)
    assert de.recheck_interval("18_plus", "self_declaration") == timedelta(days=30)


def test_defaults_apply_when_a_jurisdiction_chain_sets_none() -> None:
    default = load_policy(CASES / "base.yaml").jurisdiction("default")
    assert default.check_ttl == timedelta(minutes=15)
    assert (default.per_check_attempts, default.per_method_attempts) == (5, 3)


def test_band_name_13_15_stays_a_string() -> None:
    raw, _ = read(CASES / "base.yaml")
    assert raw["bands"][1]["name"] == "13_15"
    assert "13_15" in raw["jurisdictions"]["default"]["required_level"]
    policy = load_policy(CASES / "base.yaml")
    assert policy.bands.names[1] == "13_15"
    assert policy.jurisdiction("default").required_level["13_15"] == "basic"


def test_no_as_a_jurisdiction_stays_no() -> None:
    raw, _ = read(CASES / "norway.yaml")
    assert "no" in raw["jurisdictions"]
    assert raw["jurisdictions"]["sj"]["extends"] == "no"  # a value, not only a key
    assert "no" in raw["explanation"]["keeps"]
    policy = load_policy(CASES / "norway.yaml")
    assert set(policy.jurisdictions) == {"default", "no", "sj"}
    assert policy.jurisdiction("sj").required_level["13_15"] == "effective"
    assert policy.text(policy.explanation_keeps, "no") == "Bare aldersgruppen din."


def test_yaml_1_1_booleans_still_work_where_a_field_is_a_boolean(tmp_path: Path) -> None:
    file = tmp_path / "p.yaml"
    text = (CASES / "base.yaml").read_text()
    file.write_text(text.replace("level: effective, buffer: 2", "level: effective, buffer: 2, liveness: yes"))
    assert load_policy(file).methods["facial_estimation"].liveness is True
    file.write_text(text.replace("level: effective, buffer: 2", "level: effective, buffer: 2, liveness: off"))
    assert load_policy(file).methods["facial_estimation"].liveness is False


def test_a_missing_path_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such file or directory"):
        load_policy(tmp_path / "nope.yaml")
    with pytest.raises(PolicyError, match=r"no \*\.yaml policy files"):
        load_policy(tmp_path)


def test_errors_in_several_files_are_all_reported(tmp_path: Path) -> None:
    shutil.copy(CASES / "base.yaml", tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("apiVersion: ageband/v1\nkind: AgePolicy\nlevels: [\n")
    (tmp_path / "c.yaml").write_text("apiVersion: ageband/v1\nkind: AgePolicy\ncolour: red\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path)
    assert [(Path(i.file).name, i.path) for i in caught.value.issues] == [
        ("b.yaml", ""),
        ("c.yaml", "colour"),
    ]


def test_alias_expansion_is_bounded(tmp_path: Path) -> None:
    """A few lines of aliases may not expand into millions of values (a "billion laughs")."""
    lines = ["apiVersion: ageband/v1", "kind: AgePolicy", "x0: &x0 [a, a, a, a, a, a, a, a, a, a]"]
    lines += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]" for i in range(1, 7)]
    (tmp_path / "laughs.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(PolicyError, match="too many values"):
        load_policy(tmp_path / "laughs.yaml")
