"""Two ``ageband serve`` processes behind one Redis, sharing the pepper, the clients file, the
key manifest and the policy directory (as two pods share a Secret and a ConfigMap): a check
started on one completes on the other, tokens from either verify on both, a key rotation
converges on both without a restart, and so does a policy change."""

from __future__ import annotations

import base64
import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from factories import POLICIES, bearer, write_clients_file
from redis_server import redis_url
from service_process import ServiceProcess

from service.tokens.keys import generate_key, write_key

pytestmark = pytest.mark.redis

APP_KEY = "two-replicas-app-key-0123456789"
OPS_KEY = "two-replicas-ops-key-0123456789"
CONVERGE_S = 60.0  # a file change reaches a process in well under a second; slack for load


def _kid(token: str) -> str:
    header = token.split(".", maxsplit=1)[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return kid


def _write_manifest(path: Path, entries: list[dict[str, str]]) -> None:
    tmp = path.with_suffix(".tmp")  # written whole, then renamed: a reader never sees half
    tmp.write_text(json.dumps(entries), encoding="utf-8")
    tmp.replace(path)


def _until(what: str, ok: Callable[[], bool]) -> None:
    deadline = time.monotonic() + CONVERGE_S
    while not ok():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"r{uuid.uuid4().hex[:12]}"
    yield name
    admin = redis.Redis.from_url(redis_url())
    try:
        keys = list(admin.scan_iter(match=f"{name}:*", count=500))
        if keys:
            admin.delete(*keys)
    finally:
        admin.close()


def test_two_processes_share_tokens_keys_and_policy(tmp_path: Path, prefix: str) -> None:
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    old, new = generate_key("EdDSA"), generate_key("EdDSA")
    write_key(old, keys_dir / "old.pem", "pem")
    write_key(new, keys_dir / "new.pem", "pem")
    write_key(generate_key("EdDSA"), keys_dir / "checkpoint.pem", "pem")  # production requires one
    manifest = keys_dir / "keys.json"
    _write_manifest(manifest, [{"path": "old.pem", "state": "active"}])
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    clients = write_clients_file(tmp_path, {"app": (APP_KEY, ["default"])}, {"ops": OPS_KEY})
    env = {
        "AGEBAND_ENV": "production",
        "AGEBAND_PEPPER": "shared-pepper-" + "x" * 32,
        "AGEBAND_CLIENTS_FILE": str(clients),
        "AGEBAND_TOKENS__KEYS_FILE": str(manifest),
        "AGEBAND_AUDIT__CHECKPOINT_KEY": str(keys_dir / "checkpoint.pem"),
        "AGEBAND_POLICY_PATH": str(policies),
        "AGEBAND_STORE__BACKEND": "redis",
        "AGEBAND_STORE__REDIS_URL": redis_url(),
        "AGEBAND_STORE__PREFIX": prefix,
    }
    procs = [ServiceProcess(env, tmp_path / f"serve-{n}.log") for n in "ab"]
    try:
        a, b = (p.wait_ready() for p in procs)
        auth, ops = bearer(APP_KEY), bearer(OPS_KEY)
        with (
            httpx.Client(base_url=a.url, timeout=10) as on_a,
            httpx.Client(base_url=b.url, timeout=10) as on_b,
        ):

            def token(http: httpx.Client, sid: str) -> str:
                r = http.post("/v1/tokens/refresh", json={"sid": sid}, headers=auth)
                assert r.status_code == 200, r.text
                value: str = r.json()["token"]
                return value

            def active(http: httpx.Client, tok: str) -> bool:
                r = http.post("/v1/tokens/introspect", data={"token": tok}, headers=auth)
                assert r.status_code == 200, r.text
                return bool(r.json()["active"])

            def jwks_kids(http: httpx.Client) -> set[str]:
                return {k["kid"] for k in http.get("/.well-known/jwks.json").json()["keys"]}

            # A check started on one replica completes on the other: its state is in Redis.
            check = on_a.post("/v1/checks", json={"subject": "u-1", "jurisdiction": "default"}, headers=auth)
            assert check.status_code == 201, check.text
            sid = check.json()["sid"]
            done = on_b.post(
                f"/v1/checks/{check.json()['check_id']}/evidence",
                json={"method": "self_declaration", "birth_year": 1990}, headers=auth,
            )  # fmt: skip
            assert done.json()["outcome"] == "passed", done.text
            from_b, from_a = done.json()["token"]["token"], token(on_a, sid)
            assert active(on_a, from_b) and active(on_b, from_a)
            assert _kid(from_a) == _kid(from_b) == old.kid

            # Rotation, step 1: publish the new key (next) everywhere before it signs.
            _write_manifest(
                manifest, [{"path": "old.pem", "state": "active"}, {"path": "new.pem", "state": "next"}]
            )
            _until("both publish the new key", lambda: all(new.kid in jwks_kids(h) for h in (on_a, on_b)))
            assert _kid(token(on_a, sid)) == _kid(token(on_b, sid)) == old.kid  # next does not sign
            # Step 2: the new key signs, the old one is retired (still published, still verifies).
            _write_manifest(
                manifest, [{"path": "new.pem", "state": "active"}, {"path": "old.pem", "state": "retired"}]
            )
            _until(
                "both sign with the new key",
                lambda: all(_kid(token(h, sid)) == new.kid for h in (on_a, on_b)),
            )
            rotated_a, rotated_b = token(on_a, sid), token(on_b, sid)
            assert active(on_b, rotated_a) and active(on_a, rotated_b)
            assert active(on_a, from_b) and active(on_b, from_a)  # tokens of the retired key
            assert jwks_kids(on_a) == jwks_kids(on_b) == {old.kid, new.kid}
            # The admin trigger reloads one process on demand; nothing is left to change.
            reloaded = on_a.post("/v1/admin/keys/reload", json={}, headers=ops)
            assert reloaded.status_code == 200, reloaded.text
            assert reloaded.json() == {"active_kid": new.kid, "kids": [new.kid, old.kid], "changed": False}
            # An invalid manifest never replaces the live keys.
            _write_manifest(manifest, [{"path": "new.pem", "state": "next"}])
            rejected = on_b.post("/v1/admin/keys/reload", json={}, headers=ops)
            assert rejected.status_code == 422 and rejected.json()["code"] == "keys_rejected"
            assert _kid(token(on_b, sid)) == new.kid

            # A policy change reaches both processes.
            def versions() -> list[Any]:
                return [h.get("/readyz").json()["policy_version"] for h in (on_a, on_b)]

            before = versions()
            assert before[0] == before[1]
            default = policies / "default.yaml"
            text = default.read_text(encoding="utf-8")
            assert "grace: P14D" in text
            default.write_text(text.replace("grace: P14D", "grace: P10D", 1), encoding="utf-8")
            _until("both run the new policy", lambda: (v := versions())[0] == v[1] != before[0])
            after = on_a.post("/v1/admin/policy/reload", json={}, headers=ops)
            assert after.json() == {"policy_version": versions()[1], "changed": False}
    finally:
        for p in procs:
            p.stop()
