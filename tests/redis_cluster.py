"""A real 3-primary Redis Cluster on loopback, started once per test process.

``redis-server --cluster-enabled yes`` three times, then ``redis-cli --cluster create``.
Plain module (not a conftest) so the store contract fixtures and tests/cluster share it.
"""

from __future__ import annotations

import atexit
import functools
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

_START_TIMEOUT = 60.0


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _cluster_ports(n: int) -> list[int]:
    """Ports whose cluster-bus port (+10000) is free too; below the ephemeral range."""
    ports: list[int] = []
    while len(ports) < n:
        p = random.randint(20000, 29999)
        if p not in ports and _bindable(p) and _bindable(p + 10000):
            ports.append(p)
    return ports


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(
            f"{name} is not on PATH: the cluster tests start their own Redis Cluster. "
            "Install the Debian package redis-server (apt-get install redis-server)."
        )
    return found


class LocalCluster:
    def __init__(self, primaries: int = 3) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="ageband-cluster-"))
        self.ports = _cluster_ports(primaries)
        self.procs: list[subprocess.Popen[bytes]] = []
        server = _binary("redis-server")
        for port in self.ports:
            log = (self.workdir / f"{port}.log").open("wb")
            self.procs.append(
                subprocess.Popen(  # noqa: S603 - fixed arguments, binary found on PATH
                    [
                        server,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        str(self.workdir),
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        f"nodes-{port}.conf",
                        "--cluster-node-timeout",
                        "2000",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
        atexit.register(self.stop)
        deadline = time.monotonic() + _START_TIMEOUT
        for port in self.ports:
            while not _ping(port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster node {port} did not start; see {self.workdir}")
                time.sleep(0.05)
        created = subprocess.run(  # noqa: S603 - fixed arguments
            [
                _binary("redis-cli"),
                "--cluster",
                "create",
                *[f"127.0.0.1:{p}" for p in self.ports],
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            timeout=_START_TIMEOUT,
            check=False,
        )
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout.decode()[-500:]}")
        while not all(_cluster_ok(p) for p in self.ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not reach cluster_state:ok")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _ping(port: int) -> bool:
    client = redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError):
        return False
    finally:
        client.close()


def _cluster_ok(port: int) -> bool:
    client = redis.Redis(port=port, socket_timeout=1)
    try:
        info = client.execute_command("CLUSTER", "INFO")
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text
    finally:
        client.close()


@functools.cache
def local_cluster() -> LocalCluster:
    """This process's cluster (each pytest-xdist worker starts its own)."""
    return LocalCluster()
