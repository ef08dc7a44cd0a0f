"""The ageband command line, run through typer's test runner (the real commands, no stubs)."""

from __future__ import annotations

from pathlib import Path

from factories import POLICIES, ROOT
from typer.testing import CliRunner

from service.cli.main import app
from service.clients.registry import ClientRegistry
from service.tokens.keys import KeyState, load_key

runner = CliRunner()


def test_keys_generate_writes_a_loadable_private_key_with_mode_0600(tmp_path: Path) -> None:
    for alg, fmt in (("EdDSA", "pem"), ("ES256", "jwk")):
        out = tmp_path / f"key-{alg}.{fmt}"
        result = runner.invoke(app, ["keys", "generate", "--out", str(out), "--alg", alg, "--format", fmt])
        assert result.exit_code == 0, result.output
        assert out.stat().st_mode & 0o777 == 0o600
        key = load_key(out, KeyState.active)
        assert key.alg == alg
        assert key.kid in result.output


def test_keys_generate_refuses_to_overwrite_and_bad_options(tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    out.write_text("keep me")
    assert runner.invoke(app, ["keys", "generate", "--out", str(out)]).exit_code == 2
    assert out.read_text() == "keep me"
    assert (
        runner.invoke(app, ["keys", "generate", "--out", str(tmp_path / "x"), "--alg", "HS256"]).exit_code
        == 2
    )


def test_clients_new_key_prints_a_key_whose_hash_authenticates(tmp_path: Path) -> None:
    result = runner.invoke(app, ["clients", "new-key"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    key = lines[0].split(": ", 1)[1].strip()
    digest = lines[1].split(": ", 1)[1].strip()
    clients = tmp_path / "clients.yaml"
    clients.write_text(f"clients:\n  - id: app\n    api_keys: ['{digest}']\n")
    registry = ClientRegistry.from_file(clients)
    assert registry.authenticate(f"Bearer {key}").id == "app"


def test_policy_validate_accepts_the_bundled_policy() -> None:
    result = runner.invoke(app, ["policy", "validate", str(POLICIES)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_policy_validate_reports_file_line_and_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (
        (POLICIES / "default.yaml")
        .read_text()
        .replace("waterfall: [os_signal, self_declaration", "waterfall: [os_signal, telepathy")
    )
    bad.write_text(text)
    result = runner.invoke(app, ["policy", "validate", str(bad)])
    assert result.exit_code == 1
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "telepathy" in t)
    assert f"bad.yaml:{line}" in result.output
    assert "jurisdictions.default.waterfall[1]" in result.output
    assert "unknown method 'telepathy'" in result.output


def test_policy_validate_reports_every_error_in_every_file_in_one_pass(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    for pack in POLICIES.glob("*.yaml"):
        (folder / pack.name).write_text(pack.read_text())
    breaks = {  # one kind of error per pack: schema, reference, YAML, bare-number duration
        "GB.yaml": ("    extends: default\n", "    extends: default\n    colour: red\n"),
        "AU.yaml": ("    extends: default\n", "    extends: default\n    waterfall: [telepathy]\n"),
        "EU.yaml": ("    extends: default\n", "    extends: default\n    extends: default\n"),
        "US.yaml": ("    extends: default\n", "    extends: default\n    grace: 14\n"),
    }
    for name, (old, new) in breaks.items():
        text = (folder / name).read_text()
        assert old in text
        (folder / name).write_text(text.replace(old, new, 1))
    result = runner.invoke(app, ["policy", "validate", str(folder)])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error ")]
    assert [e.split(":")[0].rsplit("/", 1)[1] for e in errors] == ["AU.yaml", "EU.yaml", "GB.yaml", "US.yaml"]
    assert "jurisdictions.AU.waterfall[0]: unknown method 'telepathy'" in errors[0]
    assert "jurisdictions.EU.extends: duplicate key" in errors[1]
    assert "jurisdictions.GB.colour: Extra inputs are not permitted" in errors[2]
    assert "jurisdictions.US.grace: a bare number is not a duration" in errors[3]
    assert "P14D" in errors[3]
    assert "4 error(s) in 4 file(s)" in result.output


def test_openapi_check_passes_on_the_committed_file_and_fails_on_drift(tmp_path: Path) -> None:
    assert runner.invoke(app, ["openapi", "--out", str(ROOT / "openapi.yaml"), "--check"]).exit_code == 0
    stale = tmp_path / "openapi.yaml"
    stale.write_text("openapi: 3.1.0\n")
    assert runner.invoke(app, ["openapi", "--out", str(stale), "--check"]).exit_code == 1
