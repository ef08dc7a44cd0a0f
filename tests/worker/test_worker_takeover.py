"""A worker SIGKILLed mid-delivery is never restarted: a different worker of the consumer group
takes its deliveries over once they have idled ``claim_idle_ms``, never sooner, and of two
surviving workers only one delivers each event. The receiver sees one effect per event id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from factories import running
from webhook_setup import webhook_env, worker_env

from service.privacy.report import build_report

pytestmark = [pytest.mark.anyio, pytest.mark.redis]
AGEBAND = str(Path(sys.executable).with_name("ageband"))
CLAIM_IDLE_MS = 4000


def start_worker(env: dict[str, str], consumer: str, log: Path) -> subprocess.Popen[bytes]:
    """The real ``ageband worker`` process; its audit events (JSON lines) go to ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [AGEBAND, "worker", "--consumer", consumer, "--timeout", "2",
             "--claim-idle-ms", str(CLAIM_IDLE_MS), "--timers-every", "3600"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip


async def wait_until(predicate: Callable[[], bool], within: float, what: str) -> float:
    """Poll without blocking the loop; returns the monotonic time the predicate came true."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(0.01)
    return time.monotonic()


def events_of(log: Path, name: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [e for e in lines if e.get("event") == name]


def delivered(log: Path) -> list[dict[str, Any]]:
    return events_of(log, "webhook.delivered")


async def stop(worker: subprocess.Popen[bytes], log: Path) -> int:
    """SIGTERM once the worker handles it (a slow start-up would otherwise end at the signal)."""
    await wait_until(
        lambda: bool(events_of(log, "worker.started")) or worker.poll() is not None, 180, "start"
    )
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    return await anyio.to_thread.run_sync(lambda: worker.wait(timeout=90))


async def test_another_worker_takes_over_a_killed_workers_delivery_after_claim_idle(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, receiver, prefix), running(settings) as run:
        for i in range(3):
            await run.adult_token(f"takeover-{i}")
        env = worker_env(settings, prefix)
        receiver.hang_on_type = "check.completed"  # the first arrival of each is held open 3 s
        receiver.hang_s = 3.0
        logs = {name: tmp_path / f"{name}.log" for name in ("worker-a", "worker-b", "worker-c")}
        a = start_worker(env, "worker-a", logs["worker-a"])
        try:
            held_at = await wait_until(lambda: sum(receiver.arrivals.values()) >= 1, 120, "a first delivery")
            a.send_signal(signal.SIGKILL)  # mid-delivery: the receiver has not answered yet
            await anyio.to_thread.run_sync(lambda: a.wait(timeout=60))
        finally:
            if a.poll() is None:
                a.kill()
        (killed_id,) = list(receiver.arrivals)
        assert receiver.effects == {}  # nothing was acknowledged to worker A
        receiver.hang_on_type = None

        # Worker A never comes back. Two others race for its pending entries.
        b = start_worker(env, "worker-b", logs["worker-b"])
        c = start_worker(env, "worker-c", logs["worker-c"])
        try:
            taken_at = await wait_until(lambda: receiver.arrivals[killed_id] >= 2, 120, "the takeover")
            receiver.wait_for(3, timeout=120, event_type="check.completed")
            await anyio.sleep(0.5)  # let any duplicate arrive before counting
        finally:
            codes = [await stop(b, logs["worker-b"]), await stop(c, logs["worker-c"])]
        assert codes == [0, 0]  # clean stops on SIGTERM

        # Not before the entry had idled claim_idle_ms: A might still have been delivering it.
        assert taken_at - held_at >= CLAIM_IDLE_MS / 1000 - 0.3
        # Every event had its effect once per id; only the interrupted one arrived twice.
        assert len(receiver.events("check.completed")) == 3
        assert receiver.arrivals[killed_id] == 2
        assert {n for eid, n in receiver.arrivals.items() if eid != killed_id} == {1}
        assert receiver.rejected == 0
        # The audit trails say who delivered what: A nothing, B and C together each event once.
        assert delivered(logs["worker-a"]) == []
        by_worker = {name: delivered(logs[name]) for name in ("worker-b", "worker-c")}
        per_event = Counter(e["event_id"] for events in by_worker.values() for e in events)
        assert set(per_event) == set(receiver.arrivals)
        assert set(per_event.values()) == {1}
        (retaken,) = [e for events in by_worker.values() for e in events if e["event_id"] == killed_id]
        assert retaken["redelivered"] is True
        # Nothing is left pending with any consumer, and nothing was dead-lettered.
        store = run.services.store
        for name in logs:
            assert await store.events.read_own_pending("webhooks", name, 10) == []
        assert await store.events.dead_letters(10) == []
        # Each worker's audit trail passed the PII guard into a hash chain that verifies; the
        # killed worker's chain is intact but open (no shutdown checkpoint), as a reviewer sees.
        for name, log in logs.items():
            report = build_report([log])
            assert report.violations == [], name
            assert [w.kind for w in report.warnings] == (["chain_open"] if name == "worker-a" else []), name
