"""``ageband serve`` as operators run it: the installed command in a folder of its own."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis_server import redis_url
from service_process import AGEBAND

_START_TIMEOUT = 180.0  # imports and policy compilation on a loaded machine


@contextmanager
def serve(folder: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AGEBAND_")}
    proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [AGEBAND, "serve", *args],
        cwd=folder,
        env={**inherited, "AGEBAND_POLICY_WATCH": "false", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def read_until(proc: subprocess.Popen[bytes], event: str) -> tuple[dict[str, Any], list[str]]:
    """The first JSON log line with ``event``, and every line before it. Read from the pipe's
    descriptor, not its buffered reader: lines that reader had buffered would never wake select."""
    assert proc.stdout is not None
    fd, pending, seen = proc.stdout.fileno(), b"", []
    deadline = time.monotonic() + _START_TIMEOUT
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.decode()
                seen.append(line)
                if line.startswith("{") and json.loads(line).get("event") == event:
                    return json.loads(line), seen
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break  # nothing more in time
            chunk = os.read(fd, 65536)
            if not chunk:
                break  # the process ended
            pending += chunk
    raise AssertionError(f"no {event} line from ageband serve; it wrote:\n{chr(10).join(seen)[-3000:]}")


def test_serve_logs_the_address_it_listens_on_once_it_takes_requests(tmp_path: Path) -> None:
    with serve(tmp_path, "--host", "127.0.0.1", "--port", "0") as proc:
        listening, before = read_until(proc, "service.listening")
        # Port 0 asked the system for a free port: the line has the real one.
        assert listening["host"] == "127.0.0.1" and listening["port"] > 0
        assert listening["level"] == "info"
        assert any('"policy.loaded"' in line for line in before)  # after start-up, not before
        r = httpx.get(f"http://127.0.0.1:{listening['port']}/healthz", timeout=5)
        assert r.status_code == 200


@pytest.mark.redis
def test_several_workers_log_the_shared_address_once_and_take_connections_from_then_on(
    tmp_path: Path,
) -> None:
    store = {
        "AGEBAND_STORE__BACKEND": "redis",
        "AGEBAND_STORE__REDIS_URL": redis_url(),
        "AGEBAND_STORE__PREFIX": f"l{uuid.uuid4().hex[:12]}",  # nothing is written at start-up
    }
    with serve(tmp_path, "--host", "127.0.0.1", "--port", "0", "--workers", "2", env=store) as proc:
        listening, _ = read_until(proc, "service.listening")
        assert listening["host"] == "127.0.0.1" and listening["port"] > 0
        # The parent listens before the workers are up: a connection waits, it is not refused.
        r = httpx.get(f"http://127.0.0.1:{listening['port']}/healthz", timeout=_START_TIMEOUT)
        assert r.status_code == 200
