"""Redis commands per request on the hot paths: what the scaling model multiplies.

Usage: .venv/bin/python -m bench.redis_ops [--requests 1000]

``ageband serve`` on a private Redis (bench/servers.py); after a check (which writes the
record), ``--requests`` refreshes, then as many introspections, single decisions on bands, on tokens,
and batches of 1,000 bands; Redis's own ``INFO commandstats`` is read before and after each, so
the count is the server's, scripts and pipelines included. Results: stdout and
bench/out/redis_ops.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import httpx
import redis

from bench import servers
from bench.run import seed_sid

OUT = Path(__file__).resolve().parent / "out"
AUTH = {"Authorization": "Bearer ageband-demo-key"}


def _calls(r: redis.Redis) -> dict[str, int]:
    stats = r.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


def _delta(before: dict[str, int], after: dict[str, int], n: int) -> dict[str, float]:
    out = {k: round((v - before.get(k, 0)) / n, 2) for k, v in after.items() if v != before.get(k, 0)}
    out.pop("info", None)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    args = ap.parse_args()
    n = args.requests
    result: dict[str, dict[str, float]] = {}
    with servers.private_redis() as url:
        port = servers.free_port()
        proc = servers.serve_ageband(port, redis_url=url)
        try:
            base = f"http://127.0.0.1:{port}"
            sid = seed_sid(base)
            r = redis.Redis(port=servers.redis_ports(url)[0])
            with httpx.Client(base_url=base, headers=AUTH) as http:
                token = http.post("/v1/tokens/refresh", json={"sid": sid}).json()["token"]
                batch = {
                    "jurisdiction": "default", "action": "profile.view", "actor": {"band": "18_plus"},
                    "targets": [{"id": str(i), "band": "18_plus"} for i in range(1000)],
                }  # fmt: skip
                plan = {
                    "refresh": ("/v1/tokens/refresh", {"sid": sid}),
                    "introspect": ("/v1/tokens/introspect", {"token": token}),
                    "decision_bands": ("/v1/decisions", {
                        "jurisdiction": "default", "action": "profile.view",
                        "actor": {"band": "18_plus"}, "target": {"band": "18_plus"}}),
                    "decision_tokens": ("/v1/decisions", {
                        "jurisdiction": "default", "action": "profile.view",
                        "actor": {"token": token}, "target": {"token": token}}),
                    "batch_1000_bands": ("/v1/decisions/batch", batch),
                }  # fmt: skip
                for name, (path, body) in plan.items():
                    before = _calls(r)
                    for _ in range(n):
                        http.post(path, json=body).raise_for_status()
                    result[name] = _delta(before, _calls(r), n)
        finally:
            servers.stop(proc)
    OUT.mkdir(exist_ok=True)
    (OUT / "redis_ops.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
