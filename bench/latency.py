"""Latency percentiles below saturation: the open-loop generator at fractions of a measured maximum."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.servers import ROOT, pinned


def raw_request(path: str, body: bytes, auth: str | None = None) -> bytes:
    """One keep-alive HTTP/1.1 POST of a JSON body, as bytes on the wire."""
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if auth:
        head.append(f"Authorization: Bearer {auth}")
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def write_request(work: Path, name: str, path: str, body: bytes, auth: str | None = None) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"{name}.http"
    out.write_bytes(raw_request(path, body, auth))
    return out


def open_loop(
    port: int, requests: list[Path], rate: float, seconds: int, connections: int = 32
) -> dict[str, float]:
    if rate < 1:
        raise RuntimeError("no saturated rate to take a fraction of: the server answered nothing")
    cmd = [sys.executable, "-m", "bench.openloop", "--port", str(port), "--rate", str(round(rate, 1))]
    cmd += ["--seconds", str(seconds), "--connections", str(connections), *map(str, requests)]
    out = subprocess.run(pinned("load", cmd), capture_output=True, text=True, check=True, cwd=ROOT).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    bad = {k: v for k, v in dict(result["statuses"]).items() if not 200 <= int(k) < 300}  # type: ignore[call-overload]
    if bad:
        raise RuntimeError(f"non-2xx answers under open-loop load: {bad}")
    return result


def at_fractions(
    port: int, requests: list[Path], max_rps: float, seconds: int, fractions: tuple[float, ...] = (0.5, 0.8)
) -> dict[str, dict[str, float]]:
    """p50/p99/p99.9 at each fraction of ``max_rps`` (the median saturated rate of the same run)."""
    return {f"{round(f * 100)}%": open_loop(port, requests, f * max_rps, seconds) for f in fractions}
