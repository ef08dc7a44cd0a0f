"""The README walkthrough, run as written against a real ``ageband serve --dev-clock``."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from factories import ROOT
from service_process import ServiceProcess


def _walkthrough_script() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    walkthrough = readme[readme.index("\n## Walkthrough\n") : readme.index("\n## API\n")]
    blocks = re.findall(r"```bash\n(.*?)```", walkthrough, re.DOTALL)
    [script] = [b for b in blocks if b.startswith("API=")]
    return script


def test_the_readme_walkthrough_runs_and_keeps_its_files_in_a_mktemp_folder(tmp_path: Path) -> None:
    script = _walkthrough_script()
    assert script.startswith("API=http://127.0.0.1:8080\n")
    server = ServiceProcess({}, tmp_path / "serve.log", args=("--dev-clock",)).wait_ready()
    try:
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        run = subprocess.run(  # noqa: S603  # bash running the README's own snippet
            [
                "/bin/bash",
                "-euo",
                "pipefail",
                "-c",
                script.replace("127.0.0.1:8080", f"127.0.0.1:{server.port}"),
            ],
            cwd=ROOT,
            env={**os.environ, "TMPDIR": str(scratch)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert '"status":"passed"' in lines[1]
    assert any("'age_band': '18_plus'" in line for line in lines)  # verified offline against the JWKS
    assert '"active":true' in run.stdout  # introspection
    assert '"recheck_due":true' in run.stdout  # in grace
    assert lines[-1].startswith("{") and '"code":"recheck_required"' in lines[-1]
    # Its files went to the one folder mktemp made (under TMPDIR), nowhere else.
    [work] = list(scratch.iterdir())
    assert sorted(p.name for p in work.iterdir()) == ["check.json", "jwks.json", "result.json"]
