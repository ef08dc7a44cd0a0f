"""A real Sentinel setup on loopback: one primary, two replicas and three Sentinels.

``redis-server`` for the data nodes and ``redis-server --sentinel`` for the Sentinels (the
Debian package redis-server ships both modes in one binary). Failure detection is tuned
down (``down-after-milliseconds``) so a failover takes seconds. Plain module (not a
conftest); each test starts its own setup and stops it. Two replicas, so that after a
failover the new primary still has one and writes that wait for a replica keep working.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis
from redis_server import free_port

PRIMARY_NAME = "ageband-test"
DOWN_AFTER_MS = 500
FAILOVER_TIMEOUT_MS = 2000
_START_TIMEOUT = 30.0


def _binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError(
            "redis-server is not on PATH: the Sentinel tests start their own servers. "
            "Install the Debian package redis-server (apt-get install redis-server)."
        )
    return found


def _client(port: int) -> redis.Redis:
    return redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=2, decode_responses=True)


class SentinelSetup:
    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="ageband-sentinel-"))
        self.primary_port = free_port()
        self.replica_ports = [free_port(), free_port()]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _spawn(self, port: int, args: list[str]) -> None:
        log = (self.workdir / f"{port}.log").open("wb")
        self.procs[port] = subprocess.Popen(  # noqa: S603 - fixed arguments, binary found on PATH
            [_binary(), *args], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def _data_node(self, port: int, *extra: str) -> None:
        # No persistence: test data never reaches a disk; replication alone keeps it.
        self._spawn(port, [
            "--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
            "--save", "", "--appendonly", "no", "--dbfilename", f"dump-{port}.rdb",
            "--repl-diskless-sync-delay", "0", *extra,  # replicas sync at once, not after 5 s
        ])  # fmt: skip

    def _start(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        self._data_node(self.primary_port)
        for port in self.replica_ports:
            self._data_node(port, "--replicaof", "127.0.0.1", str(self.primary_port))
        self._until(deadline, "the replicas to sync", self._replicas_linked)
        # Each Sentinel is told its peers and the replicas up front (as a rewritten config
        # file would say), instead of learning them from hello messages over seconds.
        ids = {port: secrets.token_hex(20) for port in self.sentinel_ports}
        for port in self.sentinel_ports:
            conf = self.workdir / f"sentinel-{port}.conf"  # Sentinels rewrite their own file
            lines = [
                f"port {port}", "bind 127.0.0.1", f"dir {self.workdir}", f"sentinel myid {ids[port]}",
                f"sentinel monitor {PRIMARY_NAME} 127.0.0.1 {self.primary_port} 2",
                f"sentinel down-after-milliseconds {PRIMARY_NAME} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {PRIMARY_NAME} {FAILOVER_TIMEOUT_MS}",
                f"sentinel parallel-syncs {PRIMARY_NAME} 1",
                *(f"sentinel known-replica {PRIMARY_NAME} 127.0.0.1 {r}" for r in self.replica_ports),
                *(f"sentinel known-sentinel {PRIMARY_NAME} 127.0.0.1 {o} {ids[o]}" for o in ids if o != port),
            ]  # fmt: skip
            conf.write_text("\n".join(lines) + "\n")
            self._spawn(port, [str(conf), "--sentinel"])
        self._until(deadline, "the Sentinels to know each other and the replica", self._sentinels_ready)

    def _until(self, deadline: float, what: str, ready: object) -> None:
        assert callable(ready)
        while not ready():
            for port, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"redis-server on port {port} exited; see {self.workdir}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}; see {self.workdir}")
            time.sleep(0.1)

    def _replicas_linked(self) -> bool:
        try:
            for port in self.replica_ports:
                with _client(port) as c:
                    if c.info("replication").get("master_link_status") != "up":
                        return False
        except redis.RedisError:
            return False
        return True

    def _sentinels_ready(self) -> bool:
        for port in self.sentinel_ports:
            try:
                with _client(port) as c:
                    state = c.execute_command("SENTINEL", "MASTER", PRIMARY_NAME)
            except redis.RedisError:
                return False
            fields = dict(zip(state[::2], state[1::2], strict=True)) if isinstance(state, list) else state
            if int(fields["num-other-sentinels"]) < 2 or int(fields["num-slaves"]) < 2:
                return False
        return True

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{PRIMARY_NAME}/0"

    def current_primary_port(self) -> int:
        """The primary's port as the Sentinels report it."""
        for port in self.sentinel_ports:
            try:
                with _client(port) as c:
                    _, p = c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", PRIMARY_NAME)
                return int(p)
            except redis.RedisError:
                continue
        raise RuntimeError("no Sentinel answers")

    def kill_primary(self) -> int:
        """SIGKILL the current primary (no goodbye, no last replication flush); its port."""
        port = self.current_primary_port()
        proc = self.procs[port]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
        return port

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
