"""The live policy holder: reload is all-or-nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from policy_paths import CASES

from service.policy.holder import PolicyHolder
from service.policy.yaml_source import PolicyError


def test_reload_keeps_the_old_policy_when_the_new_one_is_invalid(tmp_path: Path) -> None:
    file = tmp_path / "policy.yaml"
    shutil.copy(CASES / "base.yaml", file)
    holder = PolicyHolder.load(file)
    live = holder.current

    file.write_text(
        file.read_text().replace("waterfall: [os_signal, self_declaration]", "waterfall: [selfie]")
    )
    with pytest.raises(PolicyError, match="unknown method 'selfie'"):
        holder.reload()
    assert holder.current is live

    file.write_text("apiVersion: ageband/v1\nkind: AgePolicy\nlevels: [\n")
    with pytest.raises(PolicyError, match="YAML syntax"):
        holder.reload()
    assert holder.current is live


def test_reload_keeps_the_old_policy_when_a_section_is_empty(tmp_path: Path) -> None:
    """An empty section used to crash the loader with a TypeError instead of a PolicyError."""
    file = tmp_path / "policy.yaml"
    shutil.copy(CASES / "base.yaml", file)
    holder = PolicyHolder.load(file)
    live = holder.current
    text = file.read_text()
    file.write_text(
        text[: text.index("explanation:")] + "explanation:\n" + text[text.index("jurisdictions:") :]
    )
    with pytest.raises(PolicyError, match="explanation: must not be empty"):
        holder.reload()
    assert holder.current is live


def test_reload_swaps_in_a_valid_new_policy(tmp_path: Path) -> None:
    file = tmp_path / "policy.yaml"
    shutil.copy(CASES / "base.yaml", file)
    holder = PolicyHolder.load(file)
    old = holder.current
    file.write_text(file.read_text().replace("grace: P14D", "grace: P7D"))
    new = holder.reload()
    assert holder.current is new
    assert new.version != old.version
    assert old.jurisdiction("default").grace.days == 14  # a reader holding the old one keeps it
    assert new.jurisdiction("default").grace.days == 7


def test_reload_of_a_vanished_file_keeps_the_old_policy(tmp_path: Path) -> None:
    file = tmp_path / "policy.yaml"
    shutil.copy(CASES / "base.yaml", file)
    holder = PolicyHolder.load(file)
    live = holder.current
    file.unlink()
    with pytest.raises(PolicyError, match="no such file"):
        holder.reload()
    assert holder.current is live
