"""uv.lock is what every install gets: it matches pyproject.toml, and the README's table of
locked versions matches it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

from factories import ROOT

UV = ROOT / ".tools" / "bin" / "uv"


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _lock_check(folder: Path, *, offline: bool = True) -> subprocess.CompletedProcess[str]:
    assert UV.exists(), f"{UV} is missing: run ./scripts/install first"
    return subprocess.run(  # noqa: S603 - the pinned installer, fixed arguments
        [str(UV), "lock", "--check", *(["--offline"] if offline else []), "--directory", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )


def test_the_lock_matches_pyproject_and_a_changed_requirement_is_caught(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    # The app SDK, a path dependency of the dev extra, is part of the lock.
    shutil.copytree(ROOT / "clients" / "python", tmp_path / "clients" / "python")
    assert _lock_check(tmp_path).returncode == 0
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    requirement = re.search(r'"orjson>=[0-9.]+"', text)
    assert requirement
    # Still met by the locked release: only the recorded requirement differs.
    pyproject.write_text(text.replace(requirement.group(0), '"orjson>=3.12"'))
    # Online, as scripts/install falls back to: with an empty cache, an offline check of a
    # changed requirement cannot resolve at all, which would pass for the wrong reason.
    stale = _lock_check(tmp_path, offline=False)
    assert stale.returncode != 0 and "needs to be updated" in stale.stderr, stale


def test_the_readme_lists_every_runtime_dependency_at_its_locked_version() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"]}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- locked-versions: start -->")[1].split("<!-- locked-versions: end -->")[0]
    rows = dict(re.findall(r"^\| ([a-z0-9-]+)(?: \(`[a-z-]+`\))? \| ([^ |]+) \|$", table, re.M))
    wanted = [_name(r) for r in project["dependencies"]]
    wanted += [
        _name(r) for extra, reqs in project["optional-dependencies"].items() if extra != "dev" for r in reqs
    ]
    assert rows == {name: locked[name] for name in wanted}
