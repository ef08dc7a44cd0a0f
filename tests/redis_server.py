"""A real Redis for tests: the one at AGEBAND_TEST_REDIS_URL, the local default, or our own.

Plain module (not a conftest) so any test package can build fixtures on it. Each
pytest-xdist worker uses its own database index; tests also use their own key prefix
and delete only that prefix, so a developer's Redis is never flushed.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio

ENV_URL = "AGEBAND_TEST_REDIS_URL"
DEFAULT_URL = "redis://127.0.0.1:6379"
_START_TIMEOUT = 10.0


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError):
        return False
    finally:
        client.close()


def _worker_db() -> int:
    """gw0 -> 1, gw1 -> 2, ...; without xdist -> 1. Database 0 stays the developer's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    m = re.fullmatch(r"gw(\d+)", worker)
    db = int(m.group(1)) + 1 if m else 1
    if db > 15:
        raise RuntimeError(f"xdist worker {worker} has no Redis database of its own (max 15)")
    return db


def _with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server() -> tuple[str, Callable[[], None]]:
    """A private redis-server on a free port: its URL, and how to stop it (also done at exit)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            f"No Redis answers at {DEFAULT_URL} and redis-server is not on PATH. "
            "Install the Debian package redis-server (apt-get install redis-server) "
            f"or point {ENV_URL} at a running Redis."
        )
    workdir = tempfile.mkdtemp(prefix="ageband-redis-")
    port = free_port()
    log = Path(workdir, "redis.log").open("wb")  # noqa: SIM115 - open as long as the server runs
    # No persistence: test data must never reach a disk.
    proc = subprocess.Popen(  # noqa: S603 - fixed arguments, binary found on PATH
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            workdir,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)

    atexit.register(stop)
    url = f"redis://127.0.0.1:{port}"
    deadline = time.monotonic() + _START_TIMEOUT
    while not _answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start; see {workdir}/redis.log")
        time.sleep(0.05)
    return url, stop


@functools.cache
def redis_url() -> str:
    """The URL (with this worker's database) of a Redis that answers, starting one if needed."""
    explicit = os.environ.get(ENV_URL)
    if explicit:
        # An explicit URL that does not answer is a broken setup, not a cue to improvise.
        if not _answers(explicit):
            raise RuntimeError(f"{ENV_URL}={explicit} does not answer PING")
        base = explicit
    else:
        base = DEFAULT_URL if _answers(DEFAULT_URL) else start_server()[0]
    return _with_db(base, _worker_db())


async def delete_prefix(client: redis.asyncio.Redis, prefix: str) -> int:
    """Delete only the keys under ``prefix`` (never FLUSHDB: the database may be shared)."""
    deleted = 0
    batch: list[bytes | str] = []
    async for key in client.scan_iter(match=f"{glob_escape(prefix)}:*", count=500):
        batch.append(key)
        if len(batch) == 500:
            deleted += await client.unlink(*batch)
            batch.clear()
    if batch:
        deleted += await client.unlink(*batch)
    return deleted


def glob_escape(text: str) -> str:
    """Escape SCAN MATCH wildcards so a prefix matches only itself."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
