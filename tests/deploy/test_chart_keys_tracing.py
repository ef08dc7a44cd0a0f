"""Chart values beyond the basics: the key manifest (rotation without a restart), the replica
acknowledgement Sentinel needs, and tracing (off unless asked for)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from chart_render import SCENARIOS, env_of, of_kind, render, rendered, scenario_values

from service.settings import Settings
from service.tokens.keys import KeyState, generate_key, load_key_manifest, write_key


def _containers(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for d in of_kind(docs, "Deployment") for c in d["spec"]["template"]["spec"]["containers"]]


def _settings(container: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("AGEBAND_")]:
        monkeypatch.delenv(key)
    for name, entry in env_of(container).items():
        if name.startswith("AGEBAND_"):
            monkeypatch.setenv(name, entry.get("value", "x" * 48))
    return Settings()


def _write_secret(directory: Path, files: dict[str, bytes], stamp: str) -> None:
    """A Secret as the kubelet writes it: files in a timestamped folder, a ``..data`` symlink
    swapped atomically on update, and each visible name a symlink through ``..data``."""
    folder = directory / f"..{stamp}"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    tmp = directory / "..data_tmp"
    tmp.symlink_to(folder.name)
    tmp.replace(directory / "..data")
    for name in files:
        if not (directory / name).is_symlink():
            (directory / name).symlink_to(Path("..data") / name)


def _pem(tmp_path: Path, name: str) -> tuple[str, bytes]:
    key = generate_key("EdDSA", state=KeyState.active)
    write_key(key, tmp_path / name, "pem")
    return key.kid, (tmp_path / name).read_bytes()


def test_a_rotation_in_the_mounted_secret_reaches_the_manifest_path_the_chart_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (c, *_) = _containers(rendered("values-keys-file.yaml"))
    manifest = Path(_settings(c, monkeypatch).tokens.keys_file or "")
    assert manifest.name == "keys.yaml"
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    old_kid, old_pem = _pem(tmp_path, "a.pem")
    new_kid, new_pem = _pem(tmp_path, "b.pem")
    first = {"keys.yaml": b"- {path: signing-2026-01.pem, state: active}\n", "signing-2026-01.pem": old_pem}
    _write_secret(secret_dir, first, "2026_01_01")
    assert load_key_manifest(secret_dir / manifest.name).signing_key.kid == old_kid
    # The rotation: the new key is published first, then signs; the old one is kept, retired.
    rotated = {
        "keys.yaml": b"- {path: signing-2026-01.pem, state: retired}\n"
        b"- {path: signing-2026-04.pem, state: active}\n",
        "signing-2026-01.pem": old_pem,
        "signing-2026-04.pem": new_pem,
    }
    _write_secret(secret_dir, rotated, "2026_04_01")
    ring = load_key_manifest(secret_dir / manifest.name)
    assert ring.signing_key.kid == new_kid
    assert {k.kid for k in ring.keys} == {old_kid, new_kid}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_revocations_wait_for_a_replica_only_where_the_scenario_has_replicas(scenario: str) -> None:
    expected = "1" if scenario == "values-sentinel.yaml" else "0"
    for c in _containers(rendered(scenario)):
        env = env_of(c)
        assert env["AGEBAND_STORE__MIN_REPLICAS_ACK"]["value"] == expected
        assert env["AGEBAND_STORE__REPLICA_ACK_TIMEOUT_MS"]["value"] == "500"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_tracing_is_off_unless_the_values_turn_it_on(scenario: str, monkeypatch: pytest.MonkeyPatch) -> None:
    on = scenario_values(scenario).get("tracing", {}).get("enabled", False)
    for c in _containers(rendered(scenario)):
        names = set(env_of(c))
        tracing_env = {n for n in names if n.startswith(("AGEBAND_TRACING__", "OTEL_"))}
        assert bool(tracing_env) is on
        assert _settings(c, monkeypatch).tracing.enabled is on
    assert on is (scenario == "values-production.yaml")


def test_the_production_scenario_traces_a_sample_to_its_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    for c in _containers(rendered("values-production.yaml")):
        env = env_of(c)
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://otel-collector.observability:4318"
        tracing = _settings(c, monkeypatch).tracing
        assert (tracing.exporter, tracing.service_name, tracing.sample_ratio) == ("otlp", "ageband", 0.1)
    (netpol,) = of_kind(rendered("values-production.yaml"), "NetworkPolicy")
    ports = {p["port"] for rule in netpol["spec"]["egress"] for p in rule.get("ports", [])}
    assert 4318 in ports  # the collector is reachable


def test_tracing_without_an_endpoint_uses_the_exporters_default(monkeypatch: pytest.MonkeyPatch) -> None:
    values = scenario_values("values-minimal.yaml")
    values["tracing"] = {"enabled": True, "exporter": "console", "sampleRatio": 0.25}
    for c in _containers(render(values)):
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env_of(c)
        tracing = _settings(c, monkeypatch).tracing
        assert (tracing.enabled, tracing.exporter, tracing.sample_ratio) == (True, "console", 0.25)
