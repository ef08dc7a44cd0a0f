"""Batch decisions on 10,000 targets given as tokens: distinct and never seen (so none is cached),
then the same batch again (all cached), against the same batch given as bands.

Usage: .venv/bin/python -m bench.decisions.tokens [--targets 10000] [--runs 5]

The server is the real service (one uvicorn worker, uvloop, httptools, memory store, audit on)
with a signing key written here, so this process can sign genuine tokens for it: each run signs
a fresh set of tokens for distinct subjects. Each request is timed end to end from one client
(httpx), one request at a time, in wall time and in the server process's CPU time (which the
other load on a shared machine does not inflate); the median run is reported. Also measured
in-process: the verifier's CPU time alone, per token. Results: stdout and bench/out/decisions_tokens.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.servers import free_port, serve_ageband
from service.core.clock import SystemClock
from service.tokens.keys import KeyRing, KeyState, generate_key, load_key, write_key
from service.tokens.signer import TokenSigner
from service.tokens.verifier import TokenVerifier

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "bench" / "out"
HEADERS = {"Authorization": "Bearer ageband-demo-key", "Content-Type": "application/json"}
ISSUER = "urn:ageband:dev"  # the service's default token issuer
BANDS = ("under_13", "13_15", "16_17", "18_plus")


def _tokens(signer: TokenSigner, n: int) -> list[tuple[str, str]]:
    """(band, token) for ``n`` distinct subjects: every token is new to the server."""
    out = []
    for i in range(n):
        band = BANDS[i % len(BANDS)]
        token, _ = signer.issue(
            client_id="demo", sid="bench" + secrets.token_hex(16), band=band, level="basic",
            method="self_declaration", jurisdiction="default", policy_version="bench",
            recheck_at=int(time.time()) + 86_400,
        )  # fmt: skip
        out.append((band, token))
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc): what a request cost, whatever the load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _post(http: httpx.Client, body: bytes, pid: int) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds, server CPU seconds, and the answer."""
    cpu = _cpu_seconds(pid)
    start = time.perf_counter()
    resp = http.post("/v1/decisions/batch", content=body, headers=HEADERS)
    elapsed = time.perf_counter() - start
    if resp.status_code != 200:
        raise RuntimeError(f"batch failed: {resp.status_code} {resp.text[:300]}")
    out: dict[str, Any] = resp.json()
    return elapsed, _cpu_seconds(pid) - cpu, out


def _verify_cost(signer: TokenSigner, ring: KeyRing, n: int = 2000) -> float:
    """CPU seconds per token for the verifier alone (signature and claims), one thread."""
    verifier = TokenVerifier(ring, ISSUER, SystemClock())
    tokens = [t for _, t in _tokens(signer, n)]
    start = time.process_time()
    for token in tokens:
        verifier.verify(token, audience="demo")
    return (time.process_time() - start) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ageband-bench-"))
    key_file = work / "signing.pem"
    write_key(generate_key("EdDSA", state=KeyState.active), key_file, "pem")
    ring = KeyRing([load_key(key_file, KeyState.active)])
    signer = TokenSigner(ring, ISSUER, clock=SystemClock())
    os.environ["AGEBAND_TOKENS__KEYS"] = json.dumps([{"path": str(key_file), "state": "active"}])
    port = free_port()
    server = serve_ageband(port)  # ageband serve, embedded defaults, the key above
    head = {"jurisdiction": "default", "action": "profile.view", "actor": {"band": "18_plus"}}
    runs: dict[str, list[float]] = {"uncached_tokens": [], "cached_tokens": [], "bands": []}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as http:
            for _ in range(args.runs):
                tokens = _tokens(signer, args.targets)
                by_token = json.dumps(
                    {**head, "targets": [{"id": str(i), "token": t} for i, (_, t) in enumerate(tokens)]}
                ).encode()
                by_band = json.dumps(
                    {**head, "targets": [{"id": str(i), "band": b} for i, (b, _) in enumerate(tokens)]}
                ).encode()
                answers = []
                plan = (("uncached_tokens", by_token), ("cached_tokens", by_token), ("bands", by_band))
                for name, body in plan:
                    wall, used, answer = _post(http, body, server.pid)
                    runs[name].append(wall)
                    cpu[name].append(used)
                    answers.append(answer["allowed"])
                if not answers[0] == answers[1] == answers[2]:
                    raise RuntimeError("tokens and bands decided differently")
    finally:
        server.terminate()
        server.wait(timeout=10)
    verify = _verify_cost(signer, ring)
    med = {k: statistics.median(v) for k, v in runs.items()}
    result = {
        "targets": args.targets,
        "body_bytes_tokens": len(by_token),
        "median_seconds": {k: round(v, 3) for k, v in med.items()},
        "median_server_cpu_seconds": {k: round(statistics.median(v), 3) for k, v in cpu.items()},
        "median_targets_per_s": {k: round(args.targets / v) for k, v in med.items()},
        "all_runs_seconds": {k: [round(x, 3) for x in v] for k, v in runs.items()},
        "verifier_cpu_us_per_token": round(verify * 1e6, 1),
        "settings": {"runs": args.runs, "server": "one uvicorn worker, uvloop, httptools, memory store"},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "decisions_tokens.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
