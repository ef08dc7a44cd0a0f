"""HTTP benchmarks: ageband's token refresh and full check against a bare FastAPI endpoint.

Usage: .venv/bin/python -m bench.run [--seconds 10] [--rounds 3] [--connections 8] [--no-pin]

Both apps run in one uvicorn worker each (uvloop + httptools, no access log), in the same
run, on the same machine, driven by wrk with the same threads/connections. With two or more
CPUs, the servers are pinned to CPU 0 and wrk to the others (unless --no-pin), so the load
generator never takes CPU time from the server it measures. Rounds are
interleaved (bare, refresh, check, bare, ...) so that drift hits all of them alike, and the
median round is reported. Results go to stdout and bench/out/http.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# CPU sets for the servers and for wrk; None: no pinning (one CPU, or --no-pin).
_PIN: dict[str, set[int] | None] = {"server": None, "load": None}


def _pinned(which: str, cmd: list[str]) -> list[str]:
    """``cmd`` run by taskset on its CPU set (util-linux), or as it is when not pinning."""
    cpus = _PIN[which]
    return cmd if cpus is None else ["taskset", "-c", ",".join(map(str, sorted(cpus))), *cmd]


def _serve(target: str, port: int, *, factory: bool, workers: int = 1) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    if factory:
        cmd.append("--factory")
    if workers > 1:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(_pinned("server", cmd), stdout=subprocess.DEVNULL, cwd=HERE.parent)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            time.sleep(0.1)
        else:
            return proc
    proc.kill()
    raise RuntimeError(f"{target} did not start on port {port}")


def _wrk(url: str, script: str, seconds: int, conns: int, env: dict[str, str]) -> dict[str, float]:
    cmd = [
        "wrk",
        "-t",
        str(conns),
        "-c",
        str(conns),
        "-d",
        f"{seconds}s",
        "-s",
        str(HERE / "lua" / script),
        url,
    ]
    out = subprocess.run(
        _pinned("load", cmd), capture_output=True, text=True, env={**os.environ, **env}, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, errors, p50, p99 = (int(v) for v in line.split()[1:])
    if errors:
        raise RuntimeError(f"{script}: {errors} non-2xx responses:\n{out}")
    return {"rps": requests / seconds, "p50_ms": p50 / 1000, "p99_ms": p99 / 1000}


def _seed_sid(base: str) -> str:
    auth = {"Authorization": "Bearer ageband-demo-key"}
    with httpx.Client(base_url=base, headers=auth) as http:
        check = http.post("/v1/checks", json={"subject": "bench-user", "jurisdiction": "default"}).json()
        r = http.post(
            f"/v1/checks/{check['check_id']}/evidence",
            json={"method": "self_declaration", "birth_year": 1990},
        )
        r.raise_for_status()
        return str(check["sid"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--no-pin", action="store_true", help="let the scheduler place servers and wrk")
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(cpus) >= 2 and shutil.which("taskset"):
        _PIN["server"], _PIN["load"] = {cpus[0]}, set(cpus[1:])
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    bare_port, ab_port = _free_port(), _free_port()
    procs = [
        _serve("bench.apps:bare", bare_port, factory=False),
        _serve("bench.apps:ageband", ab_port, factory=True),
    ]
    try:
        bare_url, ab_url = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{ab_port}"
        sid = _seed_sid(ab_url)
        env = {"SID": sid}
        runs: dict[str, list[dict[str, float]]] = {"bare": [], "refresh": [], "check": []}
        _wrk(f"{bare_url}/v1/tokens/refresh", "refresh.lua", 2, args.connections, env)  # warm-up
        _wrk(f"{ab_url}/v1/tokens/refresh", "refresh.lua", 2, args.connections, env)
        for _ in range(args.rounds):
            runs["bare"].append(
                _wrk(f"{bare_url}/v1/tokens/refresh", "refresh.lua", args.seconds, args.connections, env)
            )
            runs["refresh"].append(
                _wrk(f"{ab_url}/v1/tokens/refresh", "refresh.lua", args.seconds, args.connections, env)
            )
            runs["check"].append(_wrk(ab_url, "check.lua", args.seconds, args.connections, env))
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
    med = {k: sorted(v, key=lambda r: r["rps"])[len(v) // 2] for k, v in runs.items()}
    # A check is two requests (create + evidence): checks/s is half the request rate.
    checks_per_s = med["check"]["rps"] / 2
    result = {
        "bare_rps": round(med["bare"]["rps"]),
        "refresh_rps": round(med["refresh"]["rps"]),
        "refresh_ratio": round(med["refresh"]["rps"] / med["bare"]["rps"], 3),
        "check_requests_rps": round(med["check"]["rps"]),
        "checks_per_s": round(checks_per_s),
        "check_ratio": round(checks_per_s / med["bare"]["rps"], 3),
        "latency_ms": {k: {"p50": v["p50_ms"], "p99": v["p99_ms"]} for k, v in med.items()},
        "all_rounds_rps": {k: [round(r["rps"]) for r in v] for k, v in runs.items()},
        "settings": {
            "seconds": args.seconds,
            "rounds": args.rounds,
            "connections": args.connections,
            "pinned": {k: sorted(v) if v else None for k, v in _PIN.items()},
        },
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "http.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    spread = statistics.pstdev(r["rps"] for r in runs["bare"]) / med["bare"]["rps"]
    print(f"bare-endpoint spread across rounds: {spread:.1%}")


if __name__ == "__main__":
    main()
