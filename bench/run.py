"""HTTP benchmarks: ageband's token refresh and full check against a bare FastAPI endpoint.

Usage: .venv/bin/python -m bench.run [--seconds 10] [--rounds 3] [--connections 8] [--no-pin]
                                     [--store memory|redis] [--workers 1[,2]] [--latency]

ageband runs as ``ageband serve --workers N`` (one server per worker count given), on the
memory store or on a private Redis with AOF (``--store redis``); the baseline is a bare FastAPI
endpoint under uvicorn with the same settings (uvloop, httptools, no access log). Each is
driven by wrk with the same threads/connections. With one worker and two or more CPUs the
servers (and Redis) are pinned to CPU 0 and the load to the others (unless --no-pin), so the
load generator never takes CPU time from the server it measures; with several workers nothing
is pinned (the workers need every core). Rounds are interleaved (bare, refresh, check, bare,
...) so that drift hits all of them alike, and the median round is reported, with the ratios
paired within each round. ``--latency`` then drives refresh open loop (bench/openloop.py) at
50% and 80% of each server's median saturated rate, for p50/p99/p99.9. Results go to stdout
and bench/out/http.json, with the load average before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import httpx

from bench import servers
from bench.latency import at_fractions, write_request
from bench.servers import PIN, free_port, pinned

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def wrk(url: str, script: str, seconds: int, conns: int, env: dict[str, str]) -> dict[str, float]:
    cmd = ["wrk", "-t", str(conns), "-c", str(conns), "-d", f"{seconds}s"]
    cmd += ["-s", str(HERE / "lua" / script), url]
    out = subprocess.run(
        pinned("load", cmd), capture_output=True, text=True, env={**os.environ, **env}, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, errors, p50, p99 = (int(v) for v in line.split()[1:])
    if errors:
        raise RuntimeError(f"{script}: {errors} non-2xx responses:\n{out}")
    return {"rps": requests / seconds, "p50_ms": p50 / 1000, "p99_ms": p99 / 1000}


def seed_sid(base: str) -> str:
    auth = {"Authorization": "Bearer ageband-demo-key"}
    with httpx.Client(base_url=base, headers=auth) as http:
        check = http.post("/v1/checks", json={"subject": "bench-user", "jurisdiction": "default"}).json()
        r = http.post(
            f"/v1/checks/{check['check_id']}/evidence",
            json={"method": "self_declaration", "birth_year": 1990},
        )
        r.raise_for_status()
        return str(check["sid"])


def median_round(rounds: list[dict[str, float]]) -> dict[str, float]:
    return sorted(rounds, key=lambda r: r["rps"])[len(rounds) // 2]


def main() -> None:  # noqa: PLR0915 - one run, start to finish, reads best in one place
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--no-pin", action="store_true", help="let the scheduler place servers and wrk")
    ap.add_argument(
        "--store", choices=("memory", "redis", "cluster"), default="memory", help="cluster: 3 primaries"
    )
    ap.add_argument("--workers", default="1", help="worker counts, e.g. 1 or 1,2 (several need redis)")
    ap.add_argument("--latency", action="store_true", help="percentiles at 50%% and 80%% of max throughput")
    ap.add_argument("--latency-seconds", type=int, default=10)
    ap.add_argument("--checks", action="store_true", help="also full self-declaration checks")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    if max(workers) > 1 and args.store == "memory":
        sys.exit("several workers need --store redis (the memory store lives inside one process)")
    servers.pin(args.no_pin or max(workers) > 1)
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    load_before = servers.load_average()
    with contextlib.ExitStack() as stack:
        redis_url = (
            stack.enter_context(servers.private_redis(cluster=3 if args.store == "cluster" else 0))
            if args.store != "memory"
            else None
        )
        bare_port = free_port()
        stack.callback(servers.stop, servers.serve_bare(bare_port))
        ports = {}
        for n in workers:
            ports[n] = free_port()
            stack.callback(servers.stop, servers.serve_ageband(ports[n], workers=n, redis_url=redis_url))
        bare_url = f"http://127.0.0.1:{bare_port}"
        urls = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
        sid = seed_sid(urls[workers[0]])
        env = {"SID": sid}
        checks = workers if args.checks else []
        names = ["bare"] + [f"refresh_w{n}" for n in workers] + [f"check_w{n}" for n in checks]
        plan = {"bare": (f"{bare_url}/v1/tokens/refresh", "refresh.lua")}
        for n in workers:
            plan[f"refresh_w{n}"] = (f"{urls[n]}/v1/tokens/refresh", "refresh.lua")
        for n in checks:
            plan[f"check_w{n}"] = (urls[n], "check.lua")
        for url, script in plan.values():  # warm-up
            wrk(url, script, 2, args.connections, env)
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in names}
        for _ in range(args.rounds):
            for name, (url, script) in plan.items():
                runs[name].append(wrk(url, script, args.seconds, args.connections, env))
        med = {k: median_round(v) for k, v in runs.items()}
        latency = {}
        if args.latency:
            body = json.dumps({"sid": sid}).encode()
            req = write_request(OUT / "http-work", "refresh", "/v1/tokens/refresh", body, "ageband-demo-key")
            latency["bare"] = at_fractions(bare_port, [req], med["bare"]["rps"], args.latency_seconds)
            for n in workers:
                key = f"refresh_w{n}"
                latency[key] = at_fractions(ports[n], [req], med[key]["rps"], args.latency_seconds)
    w1 = workers[0]
    paired = {
        f"refresh_w{n}_vs_bare": [
            round(a["rps"] / b["rps"], 3) for a, b in zip(runs[f"refresh_w{n}"], runs["bare"], strict=True)
        ]
        for n in workers
    }
    for n in workers[1:]:
        paired[f"refresh_w{n}_vs_w{w1}"] = [
            round(a["rps"] / b["rps"], 3)
            for a, b in zip(runs[f"refresh_w{n}"], runs[f"refresh_w{w1}"], strict=True)
        ]
    result = {
        "store": args.store,
        "workers": workers,
        "rps_median_round": {k: round(v["rps"]) for k, v in med.items()},
        # A check is two requests (create + evidence): checks/s is half the request rate.
        "checks_per_s": {n: round(med[f"check_w{n}"]["rps"] / 2) for n in checks},
        "refresh_ratio_median_rounds": {
            n: round(med[f"refresh_w{n}"]["rps"] / med["bare"]["rps"], 3) for n in workers
        },
        "paired_ratios": paired,
        "paired_ratio_medians": {k: statistics.median(v) for k, v in paired.items()},
        "saturated_latency_ms": {k: {"p50": v["p50_ms"], "p99": v["p99_ms"]} for k, v in med.items()},
        "open_loop_latency_ms": latency,
        "all_rounds_rps": {k: [round(r["rps"]) for r in v] for k, v in runs.items()},
        "load_average": {"before": load_before, "after": servers.load_average()},
        "settings": {
            "seconds": args.seconds,
            "rounds": args.rounds,
            "connections": args.connections,
            "pinned": {k: sorted(v) if v else None for k, v in PIN.items()},
        },
    }
    OUT.mkdir(exist_ok=True)
    name = f"http-{args.store}-w{'_'.join(map(str, workers))}.json"
    (OUT / name).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
