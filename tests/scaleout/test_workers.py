"""``ageband serve --workers 2`` on Redis, in development mode: the workers share the generated
signing key and pepper, so every step of a flow may land on either worker."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from factories import bearer
from redis_server import redis_url
from service_process import AGEBAND, ServiceProcess

from service.app import DEMO_CLIENT_KEY

pytestmark = pytest.mark.redis

FLOWS = 60


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"w{uuid.uuid4().hex[:12]}"
    yield name
    admin = redis.Redis.from_url(redis_url())
    try:
        keys = list(admin.scan_iter(match=f"{name}:*", count=500))
        if keys:
            admin.delete(*keys)
    finally:
        admin.close()


def _fresh(url: str) -> httpx.Client:
    """No keep-alive: each request opens its own connection, so the kernel may hand it to
    either worker."""
    return httpx.Client(base_url=url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0))


def _chains(log: Path) -> set[str]:
    """Each worker process starts its own audit chain with a policy.loaded event."""
    chains = set()
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "policy.loaded":
                chains.add(event["chain"])
    return chains


def test_two_workers_on_redis_serve_full_flows(tmp_path: Path, prefix: str) -> None:
    env = {
        "AGEBAND_STORE__BACKEND": "redis",
        "AGEBAND_STORE__REDIS_URL": redis_url(),
        "AGEBAND_STORE__PREFIX": prefix,
        "AGEBAND_POLICY_WATCH": "false",
    }
    service = ServiceProcess(env, tmp_path / "serve.log", args=("--workers", "2"), cwd=tmp_path)
    try:
        service.wait_ready()
        auth = bearer(DEMO_CLIENT_KEY)
        with _fresh(service.url) as http:
            for n in range(FLOWS):
                check = http.post(
                    "/v1/checks", json={"subject": f"user-{n}", "jurisdiction": "default"}, headers=auth
                )
                assert check.status_code == 201, check.text
                sid = check.json()["sid"]
                done = http.post(
                    f"/v1/checks/{check.json()['check_id']}/evidence",
                    json={"method": "self_declaration", "birth_year": 1990},
                    headers=auth,
                )
                assert done.status_code == 200 and done.json()["outcome"] == "passed", done.text
                refreshed = http.post("/v1/tokens/refresh", json={"sid": sid}, headers=auth)
                assert refreshed.status_code == 200, refreshed.text
                for token in (done.json()["token"]["token"], refreshed.json()["token"]):
                    seen = http.post("/v1/tokens/introspect", data={"token": token}, headers=auth)
                    assert seen.status_code == 200 and seen.json()["active"] is True, seen.text
                    assert seen.json()["sub"] == sid
                again = http.post(
                    "/v1/checks", json={"subject": f"user-{n}", "jurisdiction": "default"}, headers=auth
                )
                assert again.json()["sid"] == sid  # one pepper for both workers
    finally:
        assert service.stop() == 0
    assert len(_chains(service.log)) == 2  # two worker processes served


def _refused(tmp_path: Path, env: dict[str, str], *args: str) -> str:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AGEBAND_")}
    result = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [AGEBAND, "serve", "--port", "1", "--workers", "2", *args],
        env={**inherited, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,  # start-up on a loaded machine
        check=False,
    )
    assert result.returncode == 2, result
    return " ".join(result.stderr.split())


def test_several_workers_refuse_the_memory_store_and_say_what_to_set(tmp_path: Path) -> None:
    message = _refused(tmp_path, {})
    assert "cannot start 2 workers" in message
    assert "AGEBAND_STORE__BACKEND=redis" in message


def test_several_workers_refuse_the_settable_clock(tmp_path: Path) -> None:
    message = _refused(tmp_path, {"AGEBAND_STORE__BACKEND": "redis"}, "--dev-clock")
    assert "run --dev-clock with one worker" in message
    assert "AGEBAND_STORE__BACKEND" not in message
