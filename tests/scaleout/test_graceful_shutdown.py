"""Graceful shutdown. SIGTERM to ``ageband serve`` lets the request in flight finish (200) and
exits 0; SIGTERM to ``ageband worker`` finishes the delivery in hand and hands the rest of its
batch back, so another worker delivers them at once, each exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest
from factories import AUTH, POLICIES, running
from service_process import ServiceProcess
from webhook_setup import webhook_env, worker_env

from service.flows.worker import WorkerConfig

pytestmark = [pytest.mark.anyio]
AGEBAND = str(Path(sys.executable).with_name("ageband"))


def _read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    parsed: dict[str, object] = json.loads(body)
    return status, parsed


async def test_sigterm_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    env = {
        "AGEBAND_POLICY_PATH": str(POLICIES),
        "AGEBAND_PEPPER": "p" * 32,
        "AGEBAND_POLICY_WATCH": "false",
    }
    service = ServiceProcess(env, tmp_path / "serve.log").wait_ready()
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            started = await http.post(
                "/v1/checks", json={"subject": "slow-uploader", "jurisdiction": "default"}, headers=AUTH
            )
        check = started.json()
        body = json.dumps({"method": "self_declaration", "birth_year": 1990}).encode()
        head = (
            f"POST /v1/checks/{check['check_id']}/evidence HTTP/1.1\r\nHost: ageband\r\n"
            f"Authorization: {AUTH['Authorization']}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", service.port), timeout=20) as sock:
            sock.sendall(head + body[:10])  # a slow client: the body trickles in
            await anyio.sleep(0.3)
            service.proc.send_signal(signal.SIGTERM)
            await anyio.sleep(0.5)
            assert service.proc.poll() is None, "the service quit with a request in flight"
            with pytest.raises(OSError):  # no new connections while draining
                socket.create_connection(("127.0.0.1", service.port), timeout=2).close()
            sock.sendall(body[10:])
            status, answer = _read_response(sock)
        assert status == 200, answer
        assert answer["outcome"] == "passed"
        assert service.proc.wait(timeout=90) == 0
    finally:
        service.stop()


def _worker(env: dict[str, str], consumer: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [AGEBAND, "worker", "--consumer", consumer, "--timeout", "5", "--claim-idle-ms", "60000",
         "--timers-every", "3600"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.redis
async def test_a_stopping_worker_hands_back_what_it_did_not_deliver(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, receiver, prefix), running(settings) as run:
        for i in range(4):
            await run.adult_token(f"handback-{i}")
        env = worker_env(settings, prefix)
        receiver.hang_on_type = "check.completed"  # the first delivery is held open
        receiver.hang_s = 1.5
        first = _worker(env, "w1")
        try:
            deadline = time.monotonic() + 120
            while sum(receiver.arrivals.values()) < 1:
                assert time.monotonic() < deadline, "the worker delivered nothing"
                await anyio.sleep(0.02)
            first.send_signal(signal.SIGTERM)  # mid-delivery, with the rest of the batch in hand
            assert await anyio.to_thread.run_sync(lambda: first.wait(timeout=90)) == 0
        finally:
            if first.poll() is None:
                first.kill()
        assert sum(receiver.arrivals.values()) == 1  # the delivery in hand finished; no other began
        assert len(receiver.events("check.completed")) == 1
        # The rest is pending but handed back: any consumer may claim it without the idle wait.
        store = run.services.store
        claimable = await store.events.claim_stale("webhooks", "probe", WorkerConfig("x").claim_idle_ms, 100)
        assert len([d for d in claimable if d.event.type == "check.completed"]) == 3
        await store.events.hand_back("webhooks", "probe", [d.entry_id for d in claimable], 60_000)
        receiver.hang_on_type = None
        second = _worker(env, "w2")  # another replica: claims them at once (claim-idle is 60 s)
        try:
            receiver.wait_for(4, timeout=120, event_type="check.completed")
            await anyio.sleep(0.3)  # let any duplicate arrive before counting
        finally:
            second.send_signal(signal.SIGTERM)
            assert await anyio.to_thread.run_sync(lambda: second.wait(timeout=90)) == 0
        assert set(receiver.arrivals.values()) == {1}  # each event exactly once
        assert receiver.rejected == 0
