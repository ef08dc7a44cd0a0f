"""Hot reload: admin endpoint, SIGHUP and file watching; an invalid policy never goes live."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from factories import ADMIN, AUTH, make_settings, running, two_clients_settings, write_policy

pytestmark = pytest.mark.anyio

STRICTER = {"grace: P14D": "grace: P7D"}


async def _until(done: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if done():
            return
        await anyio.sleep(0.02)
    raise AssertionError("timed out")


async def test_admin_reload_swaps_and_invalid_policy_is_rejected(tmp_path: Path) -> None:
    folder = write_policy(tmp_path)
    settings = two_clients_settings(tmp_path, policy_path=folder, policy_watch=False)
    async with running(settings) as r:
        before = r.services.policy.current.version
        resp = await r.http.post("/v1/admin/policy/reload", json={}, headers=ADMIN)
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"policy_version": before, "changed": False}
        assert (await r.http.post("/v1/admin/policy/reload", json={}, headers=AUTH)).status_code == 403

        text = (folder / "default.yaml").read_text()
        (folder / "default.yaml").write_text(text.replace("effect: deny", "effect: maybe", 1))
        resp = await r.http.post("/v1/admin/policy/reload", json={}, headers=ADMIN)
        assert resp.status_code == 422
        body = resp.json()
        assert body["code"] == "policy_rejected"
        assert "default.yaml:" in body["errors"][0] and "effect" in body["errors"][0]
        assert r.services.policy.current.version == before  # the live policy stays
        ready = (await r.http.get("/readyz")).json()
        assert ready["policy_version"] == before
        assert ready["policy_rejected"] and "effect" in ready["policy_rejected"][0]
        assert any(e.get("event") == "policy.rejected" for e in r.log_lines())

        (folder / "default.yaml").write_text(text.replace(*next(iter(STRICTER.items()))))
        resp = await r.http.post("/v1/admin/policy/reload", json={}, headers=ADMIN)
        assert resp.json()["changed"] is True
        assert (await r.http.get("/readyz")).json()["policy_rejected"] == []
        d = await r.http.post(
            "/v1/decisions",
            json={"jurisdiction": "default", "action": "profile.view", "actor": {}, "target": {}},
            headers=AUTH,
        )
        assert d.json()["policy_version"] == r.services.policy.current.version != before


async def test_sighup_reloads(tmp_path: Path) -> None:
    folder = write_policy(tmp_path)
    async with running(make_settings(policy_path=folder, policy_watch=False)) as r:
        before = r.services.policy.current.version
        text = (folder / "default.yaml").read_text()
        (folder / "default.yaml").write_text(text.replace(*next(iter(STRICTER.items()))))
        os.kill(os.getpid(), signal.SIGHUP)
        await _until(lambda: r.services.policy.current.version != before)


async def test_file_change_reloads_and_a_broken_file_does_not(tmp_path: Path) -> None:
    folder = write_policy(tmp_path)
    async with running(make_settings(policy_path=folder, policy_watch=True)) as r:
        before = r.services.policy.current.version
        await anyio.sleep(0.3)  # let the watcher start
        text = (folder / "default.yaml").read_text()
        (folder / "default.yaml").write_text("bands: [")
        await _until(lambda: bool(r.services.policy.rejected))
        assert r.services.policy.current.version == before
        (folder / "default.yaml").write_text(text.replace(*next(iter(STRICTER.items()))))
        await _until(lambda: r.services.policy.current.version != before)
        assert r.services.policy.rejected == ()
