"""``ageband worker`` killed mid-delivery loses nothing: run it as a subprocess, SIGKILL it while
the receiver holds a delivery open, restart it, and count effects at the receiver per event id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from factories import running
from webhook_setup import webhook_env, worker_env

pytestmark = [pytest.mark.anyio, pytest.mark.redis]
AGEBAND = str(Path(sys.executable).with_name("ageband"))


def start_worker(settings_env: dict[str, str], consumer: str) -> subprocess.Popen[bytes]:
    args = [AGEBAND, "worker", "--consumer", consumer, "--timeout", "5", "--claim-idle-ms", "10000"]
    return subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [*args, "--timers-every", "3600"],
        env={**os.environ, **settings_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(predicate: object, timeout: float) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.02)


async def test_a_killed_worker_loses_nothing_and_the_app_sees_each_event_once(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, receiver, prefix), running(settings) as run:
        for i in range(3):
            await run.adult_token(f"crash-{i}")
        env = worker_env(settings, prefix)
        receiver.hang_on_type = "check.completed"  # every first arrival is held open 3 s
        receiver.hang_s = 3.0
        worker = start_worker(env, "w1")
        try:
            wait_until(lambda: sum(receiver.arrivals.values()) >= 1, timeout=120)
            worker.send_signal(signal.SIGKILL)  # mid-delivery: the receiver has not answered
            worker.wait(timeout=60)
        finally:
            if worker.poll() is None:
                worker.kill()
        (killed_id,) = list(receiver.arrivals)
        assert receiver.effects == {}  # the receiver had not answered: nothing was acknowledged
        receiver.hang_on_type = None
        restarted = start_worker(env, "w1")
        try:
            receiver.wait_for(3, timeout=120, event_type="check.completed")
            await anyio.sleep(0.3)  # let any duplicate arrive before counting
        finally:
            restarted.send_signal(signal.SIGTERM)
            assert restarted.wait(timeout=90) == 0  # a clean stop on SIGTERM
        # Every event had its effect, once per id. The worker's clock is real, so the pinned
        # records are past their re-check date: their subject.recheck_due notices arrive too.
        assert len(receiver.events("check.completed")) == 3
        assert len(receiver.wait_for(3, event_type="subject.recheck_due")) == 3
        assert set(receiver.arrivals.values()) == {1, 2}
        assert receiver.arrivals[killed_id] == 2  # the interrupted one was delivered again
        assert receiver.rejected == 0
        assert await run.services.store.events.dead_letters(10) == []
        assert await run.services.store.events.read_own_pending("webhooks", "w1", 10) == []
