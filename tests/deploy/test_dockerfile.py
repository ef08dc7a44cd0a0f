"""The Dockerfile, checked statically (parsed, not built): stages, user, health check, context."""

from __future__ import annotations

import fnmatch
import io
import json
import re
import tomllib
from pathlib import Path

from chart_render import rendered
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]


def parse() -> DockerfileParser:
    return DockerfileParser(fileobj=io.BytesIO((ROOT / "Dockerfile").read_bytes()))


def stages() -> list[list[dict[str, str]]]:
    out: list[list[dict[str, str]]] = []
    for ins in parse().structure:
        if ins["instruction"] == "FROM":
            out.append([])
        if out:
            out[-1].append(ins)
    return out


def final(instruction: str) -> list[str]:
    return [i["value"] for i in stages()[-1] if i["instruction"] == instruction]


def test_multi_stage_on_slim_python_3_11() -> None:
    parser = parse()
    assert len(stages()) >= 2
    base = parser.baseimage
    args = {m.group(1): m.group(2) for m in re.finditer(r"^ARG (\w+)=(\S+)$", parser.content, re.M)}
    image = args.get(base.strip("${}"), base)
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", image), image
    # The runtime copies the built virtualenv; it installs nothing itself.
    assert any(v.startswith("--from=build /opt/ageband") for v in final("COPY"))
    assert not [v for v in final("RUN") if "pip" in v]


def test_runtime_runs_as_the_non_root_user_the_chart_expects() -> None:
    (user,) = final("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric, so runAsNonRoot can verify it
    for scenario in ("values-minimal.yaml",):
        for dep in [d for d in rendered(scenario) if d["kind"] == "Deployment"]:
            assert dep["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(uid)


def _install() -> str:
    runs = [i["value"] for i in stages()[0] if i["instruction"] == "RUN"]
    (install,) = [v for v in runs if "uv sync" in v]
    return install


def test_dependencies_come_from_the_lock_and_no_dev_dependencies_are_installed() -> None:
    content = parse().content
    install = _install()
    assert "--locked" in install  # exactly uv.lock's versions; a stale lock fails the build
    assert "--no-editable" in install  # a real install, not a link to /src
    assert "dev" not in install and "[dev]" not in content
    copied = " ".join(i["value"] for i in stages()[0] if i["instruction"] == "COPY")
    assert "uv.lock" in copied and "scripts/uv-requirements.txt" in copied
    # The installer itself is pinned by hash.
    assert "--require-hashes -r scripts/uv-requirements.txt" in content


def test_the_bundled_policy_is_package_data_in_the_image() -> None:
    copied = [i["value"] for i in stages()[0] if i["instruction"] == "COPY"]
    assert "policies/*.yaml ./policies/" in copied  # where service/policy/bundled points
    assert "AGEBAND_POLICY_PATH" not in parse().envs  # the packaged default, from any folder


def test_the_default_image_has_the_tracing_extra_and_local_estimation_is_opt_in() -> None:
    assert "--extra %s" in _install() and "$EXTRAS" in _install()
    (default,) = re.findall(r'^ARG EXTRAS="?([^"\n]*)"?$', parse().content, re.M)
    extras = set(default.split(","))
    assert extras == {"tracing"}
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras <= optional.keys() and "local-estimation" in optional
    assert "EXTRAS=tracing,local-estimation" in parse().content  # the documented opt-in build


def test_health_check_and_entrypoint() -> None:
    (check,) = final("HEALTHCHECK")
    assert "/healthz" in check and "--timeout=" in check
    assert json.loads(final("ENTRYPOINT")[0]) == ["ageband"]
    assert json.loads(final("CMD")[0]) == ["serve"]
    env = parse().envs
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"  # nothing written to a read-only root
    assert env["AGEBAND_HTTP__HOST"] == "0.0.0.0"  # noqa: S104 - inside a container, by design


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; '!' re-includes."""
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        p = pattern[1:] if negate else pattern
        p = p.rstrip("/")
        parts = path.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[: i + 1]), p) for i in range(len(parts)))
        if p.startswith("**/"):
            hit = hit or any(fnmatch.fnmatch(part, p[3:]) for part in parts)
        if hit:
            verdict = not negate
    return verdict


def test_the_build_context_holds_what_copy_needs_and_nothing_else() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [x.strip() for x in lines if x.strip() and not x.startswith("#")]
    for value in [*final("COPY"), *[i["value"] for i in stages()[0] if i["instruction"] == "COPY"]]:
        if value.startswith("--from="):
            continue
        for source in value.split()[:-1]:
            matches = [p.relative_to(ROOT).as_posix() for p in ROOT.glob(source)]
            assert matches, source
            for path in matches:
                assert not _ignored(path, patterns), f"{path} is excluded from the build context"
    for secret_or_dev in (".venv/bin/python", ".git/config", "tests/factories.py", "helm/ageband/Chart.yaml"):
        assert _ignored(secret_or_dev, patterns), secret_or_dev
    assert _ignored("service/__pycache__/app.cpython-311.pyc", patterns)
    assert not _ignored("service/app.py", patterns)
