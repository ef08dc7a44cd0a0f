"""Start-up is all-or-nothing: bad policy, providers, keys or settings stop it with a clear error."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from factories import POLICIES, make_settings, running
from pydantic import ValidationError

from providers.registry import ProviderLoadError
from service.policy.yaml_source import PolicyError
from service.tokens.keys import KeyState, generate_key, write_key


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_invalid_policy_stops_start_up_naming_file_line_and_path(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text((POLICIES / "default.yaml").read_text().replace("grace: P14D", "grace: soon"))
    with pytest.raises(PolicyError) as err:
        async with running(make_settings(policy_path=bad)):
            pass
    issue = err.value.issues[0]
    assert issue.file == str(bad)
    assert issue.path == "jurisdictions.default.grace"
    assert issue.line is not None
    assert "grace: soon" in bad.read_text().splitlines()[issue.line - 1]


@pytest.mark.anyio
async def test_unknown_provider_stops_start_up() -> None:
    with pytest.raises(ProviderLoadError, match="no provider 'nope'"):
        async with running(make_settings(providers={"enabled": ["os_signal", "nope"]})):
            pass


@pytest.mark.anyio
async def test_provider_with_bad_config_stops_start_up() -> None:
    settings = make_settings(
        providers={"enabled": ["os_signal"], "instances": {"os_signal": {"config": {"x": 1}}}}
    )
    with pytest.raises(ProviderLoadError, match="takes no configuration"):
        async with running(settings):
            pass


def test_production_refuses_development_shortcuts() -> None:
    with pytest.raises(ValidationError) as err:
        make_settings(env="production", pepper=None)
    text = str(err.value)
    for needed in ("AGEBAND_PEPPER", "AGEBAND_TOKENS__KEYS", "AGEBAND_CLIENTS_FILE"):
        assert needed in text
    with pytest.raises(ValidationError, match="AGEBAND_DEV_CLOCK"):
        make_settings(env="production", dev_clock=True)


def test_production_refuses_to_start_without_a_checkpoint_key(tmp_path: Path) -> None:
    key = tmp_path / "checkpoint.pem"
    write_key(generate_key("EdDSA"), key, "pem")
    signing = tmp_path / "signing.pem"
    write_key(generate_key("EdDSA"), signing, "pem")
    ready = {
        "env": "production",
        "pepper": "p" * 32,
        "clients_file": tmp_path / "clients.yaml",
        "tokens": {"keys": [{"path": signing, "state": "active"}]},
    }
    with pytest.raises(ValidationError) as err:
        make_settings(**ready)
    (problem,) = [e["msg"] for e in err.value.errors()]
    assert problem == (
        "Value error, production mode: AGEBAND_AUDIT__CHECKPOINT_KEY must name the Ed25519 private key "
        "(PEM) that signs audit checkpoints (no generated key: its checkpoints could not be verified "
        "after a restart)"
    )
    settings = make_settings(**ready, audit={"checkpoint_key": key})
    assert settings.audit.checkpoint_key == key


def test_token_lifetime_is_an_iso_8601_duration_not_a_number_of_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.settings import Settings

    monkeypatch.setenv("AGEBAND_TOKENS__LIFETIME", "300")
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "tokens.lifetime" in str(err.value)
    assert "a bare number is not a duration" in str(err.value)
    assert "PT300S (300 seconds)" in str(err.value)
    monkeypatch.setenv("AGEBAND_TOKENS__LIFETIME", "PT10M")
    assert Settings().tokens.lifetime == timedelta(minutes=10)


@pytest.mark.anyio
async def test_development_start_up_warns_loudly_about_its_shortcuts() -> None:
    async with running(make_settings(pepper=None)) as run:
        events = {e["event"] for e in run.log_lines()}
    assert {"DEVELOPMENT SIGNING KEY", "DEMO CLIENT ENABLED", "RANDOM PEPPER", "policy.loaded"} <= events


@pytest.mark.anyio
async def test_readyz_reports_policy_version_store_and_providers() -> None:
    async with running() as run:
        r = await run.http.get("/readyz")
        body = r.json()
        assert r.status_code == 200
        assert body["policy_version"] == run.services.policy.current.version
        assert body["store"] == "ok"
        assert body["providers"]["os_signal"]["available"] is True
        assert (await run.http.get("/healthz")).json() == {"status": "ok"}


@pytest.mark.anyio
async def test_signing_keys_come_from_files_with_next_active_and_retired_states(tmp_path: Path) -> None:
    keys = []
    for state, alg, fmt in (
        ("next", "EdDSA", "pem"),
        ("active", "ES256", "jwk"),
        ("retired", "EdDSA", "jwk"),
    ):
        key = generate_key(alg, state=KeyState(state))
        path = tmp_path / f"{state}.{fmt}"
        write_key(key, path, fmt)  # type: ignore[arg-type]
        keys.append({"path": str(path), "state": state, "kid": key.kid})
    settings = make_settings(tokens={"keys": [{"path": k["path"], "state": k["state"]} for k in keys]})
    async with running(settings) as run:
        jwks = (await run.http.get("/.well-known/jwks.json")).json()
        assert sorted(k["kid"] for k in jwks["keys"]) == sorted(k["kid"] for k in keys)
        assert all("d" not in k for k in jwks["keys"])
        sid, token = await run.adult_token()
        header = token.split(".")[0]
        parsed = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        assert parsed == {"alg": "ES256", "typ": "ageband+jwt", "kid": keys[1]["kid"]}
        assert sid.startswith("sid_")
