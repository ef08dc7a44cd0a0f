"""Key manifest reloads in one process: SIGHUP, a new algorithm, and the fixed-keys case."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import anyio
import pytest
from factories import ADMIN, AUTH, make_settings, running

from service.tokens.keys import SigningKey, generate_key, write_key

pytestmark = pytest.mark.anyio


def _manifest(folder: Path, keys: list[tuple[str, SigningKey, str]]) -> Path:
    for name, key, _ in keys:
        if not (folder / name).exists():
            write_key(key, folder / name, "pem")
    path = folder / "keys.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([{"path": name, "state": state} for name, _, state in keys]))
    tmp.replace(path)
    return path


async def test_sighup_rotates_to_a_key_of_another_algorithm(tmp_path: Path) -> None:
    ed, es = generate_key("EdDSA"), generate_key("ES256")
    manifest = _manifest(tmp_path, [("ed.pem", ed, "active")])
    settings = make_settings(tokens={"keys_file": str(manifest)}, policy_watch=False)
    async with running(settings) as run:
        sid, old_token = await run.adult_token("rotating")
        _manifest(tmp_path, [("ed.pem", ed, "retired"), ("es.pem", es, "active")])
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + 60
        while run.services.keyring.signing_key.kid != es.kid:
            assert time.monotonic() < deadline, "SIGHUP did not reload the keys"
            await anyio.sleep(0.02)
        refreshed = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)
        new_token = refreshed.json()["token"]
        for token in (old_token, new_token):  # ES256 verifies although the ring started EdDSA-only
            r = await run.http.post("/v1/tokens/introspect", data={"token": token}, headers=AUTH)
            assert r.json()["active"] is True
        audit = [e for e in run.log_lines() if e.get("event") == "keys.loaded"]
        assert audit and audit[-1]["kid"] == es.kid and audit[-1]["reason"] == "sighup"


async def test_keys_fixed_at_start_up_cannot_be_reloaded() -> None:
    async with running() as run:
        r = await run.http.post("/v1/admin/keys/reload", json={}, headers=ADMIN)
        assert r.status_code == 409 and r.json()["code"] == "keys_not_reloadable"
        assert (await run.http.post("/v1/admin/keys/reload", json={}, headers=AUTH)).status_code == 403


def test_keys_and_a_key_manifest_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        make_settings(
            tokens={"keys": [{"path": str(tmp_path / "a.pem")}], "keys_file": str(tmp_path / "k.json")}
        )
