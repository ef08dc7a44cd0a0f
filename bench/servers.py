"""What the HTTP benchmarks start: ageband as ``ageband serve`` runs it, a bare endpoint, and a
private Redis (one server with AOF, or a 3-primary cluster), all on loopback, all stopped after.

ageband always runs through its own CLI (``ageband serve [--workers N]``), the production
entry point; the store is chosen by ``AGEBAND_STORE__*`` as in a deployment. A private Redis
runs with AOF (``appendonly yes``, ``appendfsync everysec``), as the README's durability table
recommends for records, revocations and sanctions.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEPPER = "bench-pepper-" + "x" * 32

# CPU sets for the servers and for the load generator; None: no pinning.
PIN: dict[str, set[int] | None] = {"server": None, "load": None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pin(no_pin: bool) -> None:
    """Servers on the first CPU, load on the others (with two or more CPUs and taskset)."""
    cpus = sorted(os.sched_getaffinity(0))
    if not no_pin and len(cpus) >= 2 and shutil.which("taskset"):
        PIN["server"], PIN["load"] = {cpus[0]}, set(cpus[1:])
    else:
        PIN["server"] = PIN["load"] = None


def pinned(which: str, cmd: list[str]) -> list[str]:
    """``cmd`` run by taskset on its CPU set (util-linux), or as it is when not pinning."""
    cpus = PIN[which]
    return cmd if cpus is None else ["taskset", "-c", ",".join(map(str, sorted(cpus))), *cmd]


def wait_port(proc: subprocess.Popen[bytes], port: int, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            time.sleep(0.1)
        else:
            return
    proc.kill()
    raise RuntimeError(f"{what} did not start on port {port}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ageband's serving settings, for an app run under plain uvicorn (the bare endpoint, bench/compare).
UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]


def serve_bare(port: int) -> subprocess.Popen[bytes]:
    """The baseline (``bench.apps:bare``) under uvicorn with ageband's serving settings."""
    cmd = [sys.executable, "-m", "uvicorn", "bench.apps:bare", "--host", "127.0.0.1", "--port", str(port)]
    cmd += UVICORN_FLAGS
    proc = subprocess.Popen(pinned("server", cmd), stdout=subprocess.DEVNULL, cwd=ROOT)
    wait_port(proc, port, "the bare endpoint")
    return proc


def serve_ageband(port: int, *, workers: int = 1, redis_url: str | None = None) -> subprocess.Popen[bytes]:
    """``ageband serve --workers N`` on its embedded defaults, on Redis when a URL is given."""
    env = {**os.environ, "AGEBAND_PEPPER": PEPPER}
    if redis_url is not None:
        env |= {"AGEBAND_STORE__BACKEND": "redis", "AGEBAND_STORE__REDIS_URL": redis_url}
    cmd = [str(Path(sys.executable).parent / "ageband"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(
        pinned("server", cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env
    )
    try:
        wait_port(proc, port, "ageband serve")
        _ready(proc, port, workers)
    except BaseException:
        stop(proc)
        raise
    return proc


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _ready(proc: subprocess.Popen[bytes], port: int, workers: int, timeout: float = 120) -> None:
    """/readyz answers and, with several workers, every worker is up and idle.

    The parent listens before its workers start (connections wait in its backlog), so an open
    port or one answer says little; a worker whose CPU time (nearly) stopped growing has finished
    importing and building its app.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("ageband serve did not become ready")
        time.sleep(0.2)
    if workers == 1:
        return
    children_file = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    last: dict[int, int] = {}
    while time.monotonic() < deadline:
        # taskset execs in place, so proc.pid is ageband's supervisor itself.
        pids = [int(x) for x in children_file.read_text().split()]
        now = {pid: _cpu_ticks(pid) for pid in pids}
        # Idle: under 5 ticks (50 ms) of CPU a second each (the supervisor pings them).
        if len(pids) >= workers and now.keys() == last.keys() and all(now[p] - last[p] < 5 for p in now):
            return
        last = now
        time.sleep(1.0)
    raise RuntimeError(f"ageband serve's {workers} workers did not settle")


def _redis_binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        sys.exit(f"{name} is needed: apt-get install redis-server")
    return found


def _ping(port: int) -> bool:
    got = subprocess.run(
        [_redis_binary("redis-cli"), "-p", str(port), "ping"], capture_output=True, text=True, check=False
    )
    return got.stdout.strip() == "PONG"


@contextlib.contextmanager
def private_redis(cluster: int = 0) -> Iterator[str]:
    """A private Redis with AOF (every second), pinned with the servers; yields its URL.

    ``cluster``: that many primaries in a Redis Cluster (no replicas) instead of one server.
    """
    work = Path(tempfile.mkdtemp(prefix="ageband-bench-redis-"))
    ports: list[int] = []
    while len(ports) < max(1, cluster):  # a cluster node needs port + 10000 free as well
        p = random.randint(20000, 29999)
        if all(bindable(q) for q in (p, p + 10000)) and p not in ports:
            ports.append(p)
    procs = []
    try:
        for port in ports:
            cmd = [_redis_binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1"]
            cmd += ["--dir", str(work), "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]
            cmd += ["--appenddirname", f"aof-{port}"]
            if cluster:
                cmd += ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"]
            procs.append(subprocess.Popen(pinned("server", cmd), stdout=subprocess.DEVNULL))
        deadline = time.monotonic() + 20
        for port in ports:
            while not _ping(port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on {port}")
                time.sleep(0.05)
        if cluster:
            subprocess.run(
                [_redis_binary("redis-cli"), "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                 "--cluster-replicas", "0", "--cluster-yes"],
                check=True, capture_output=True,
            )  # fmt: skip
            while not all(_cluster_ok(p) for p in ports):
                if time.monotonic() > deadline:
                    raise RuntimeError("the cluster did not reach cluster_state:ok")
                time.sleep(0.05)
            yield "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
        else:
            yield f"redis://127.0.0.1:{ports[0]}/0"
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)


def redis_ports(url: str) -> list[int]:
    hosts = url.split("://", 1)[1].split("/", 1)[0]
    return [int(h.rsplit(":", 1)[1]) for h in hosts.split(",")]


def bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _cluster_ok(port: int) -> bool:
    got = subprocess.run(
        [_redis_binary("redis-cli"), "-p", str(port), "cluster", "info"],
        capture_output=True,
        text=True,
        check=False,
    )
    return "cluster_state:ok" in got.stdout


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
