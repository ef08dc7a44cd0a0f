"""The installed package runs on its own: the bundled policy packs ship inside it, so
``ageband serve`` started from any folder finds them."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import httpx
from factories import AUTH, POLICIES, ROOT
from service_process import ServiceProcess

UV = ROOT / ".tools" / "bin" / "uv"


def test_serve_from_an_empty_folder_completes_a_check_on_the_bundled_policy(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    service = ServiceProcess({"AGEBAND_POLICY_WATCH": "false"}, tmp_path / "serve.log", cwd=empty)
    try:
        service.wait_ready()
        with httpx.Client(base_url=service.url, timeout=10) as http:
            assert http.get("/healthz").status_code == 200
            check = http.post("/v1/checks", json={"subject": "u-1", "jurisdiction": "GB"}, headers=AUTH)
            assert check.status_code == 201, check.text
            done = http.post(
                f"/v1/checks/{check.json()['check_id']}/evidence",
                json={"method": "self_declaration", "birth_year": 1990},
                headers=AUTH,
            )
            assert done.status_code == 200 and done.json()["outcome"] == "passed", done.text
    finally:
        assert service.stop() == 0
    assert list(empty.iterdir()) == []  # nothing written where it was started


def test_the_wheel_carries_every_bundled_pack_as_package_data(tmp_path: Path) -> None:
    assert UV.exists(), f"{UV} is missing: run ./scripts/install first"
    # Built from a copy: a build in the checkout would rewrite its egg-info while other tests
    # read the installed package's entry points from it.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for package in ("service", "providers"):
        shutil.copytree(ROOT / package, source / package, symlinks=True, ignore=ignore)
    shutil.copytree(POLICIES, source / "policies", ignore=shutil.ignore_patterns("tests", "schema"))
    subprocess.run(  # noqa: S603 - the pinned installer, fixed arguments
        [str(UV), "build", "--quiet", "--out-dir", str(tmp_path / "dist"), str(source)],
        check=True,
        timeout=300,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    # Built from the sdist, as uv does by default: no stale build/ folder can fill the gaps.
    (wheel,) = (tmp_path / "dist").glob("ageband-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packed = {
            Path(name).name: archive.read(name)
            for name in archive.namelist()
            if name.startswith("service/policy/bundled/")
        }
    assert packed == {p.name: p.read_bytes() for p in POLICIES.glob("*.yaml")}
