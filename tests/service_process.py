"""The real service as a subprocess (``ageband serve``) on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from redis_server import free_port

AGEBAND = str(Path(sys.executable).with_name("ageband"))
_START_TIMEOUT = 180.0  # imports and policy compilation on a loaded machine


class ServiceProcess:
    def __init__(
        self, env: dict[str, str], log: Path, *, args: tuple[str, ...] = (), cwd: Path | None = None
    ) -> None:
        self.port = free_port()
        self.log = log
        # Only the test's own AGEBAND_ settings: none leak in from the outer environment.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("AGEBAND_")}
        with log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
                [AGEBAND, "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
                env={**inherited, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
            )

    def wait_ready(self) -> ServiceProcess:
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ageband serve did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
