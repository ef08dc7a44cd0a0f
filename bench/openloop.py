"""An open-loop load generator: requests at a constant rate, latency percentiles (wrk2-style).

Usage: .venv/bin/python -m bench.openloop --port P --rate R --seconds S --connections C REQUEST...

Each REQUEST is a file holding one whole raw HTTP/1.1 request (sent in turn). wrk is closed
loop: a slow answer delays the next request, so its percentiles hide queueing (coordinated
omission) and only saturation is measured. Here request ``i`` is due at ``t0 + i / rate``
whatever came back; it goes out on an idle keep-alive connection. Its latency runs from the
moment it was due when it had to wait for a connection (the server was behind: that wait is
the server's), and from the moment it was sent otherwise (the event loop's timer runs in
whole milliseconds, and its lateness is the generator's, not the server's). Percentiles come
from every latency kept exactly (no histogram buckets). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import deque
from pathlib import Path

import httptools
import uvloop


class _Conn(asyncio.Protocol):
    """One keep-alive connection: one request at a time, answers parsed by httptools."""

    def __init__(self, done: asyncio.Queue[_Conn], record: list[float], statuses: dict[int, int]) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.idle = done
        self.latencies = record
        self.statuses = statuses
        self.start = 0.0
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True

    def on_message_complete(self) -> None:
        self.latencies.append(time.perf_counter() - self.start)
        code = self.parser.get_status_code()
        self.statuses[code] = self.statuses.get(code, 0) + 1
        self.idle.put_nowait(self)

    def send(self, request: bytes, start: float) -> None:
        assert self.transport is not None
        self.start = start
        self.transport.write(request)


def _pct(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return float("nan")
    return round(sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p / 100))], 3)


async def run(
    host: str, port: int, requests: list[bytes], rate: float, seconds: float, connections: int
) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue[_Conn] = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for _ in range(connections):
        _, conn = await loop.create_connection(lambda: _Conn(idle, latencies, statuses), host, port)
        idle.put_nowait(conn)
    total = int(rate * seconds)
    # Requests due but not sent: [due time, whether it found no idle connection].
    waiting: deque[list[float | bool]] = deque()
    t0 = time.perf_counter() + 0.05
    due_n = sent = 0

    def drain() -> None:
        nonlocal sent
        while waiting and not idle.empty():
            due, queued = waiting.popleft()
            # Late because no connection was free: the server's queueing, counted from when it
            # was due. Late by the timer only: not the server's, counted from now.
            start = float(due) if queued else time.perf_counter()
            idle.get_nowait().send(requests[sent % len(requests)], start)
            sent += 1
        for w in waiting:
            w[1] = True

    while due_n < total:
        now = time.perf_counter()
        upto = max(due_n, min(total, int((now - t0) * rate) + 1))
        waiting.extend([t0 + i / rate, False] for i in range(due_n, upto))
        due_n = upto
        drain()
        if waiting:
            idle.put_nowait(await idle.get())  # wake when a connection frees up
        else:
            await asyncio.sleep(max(0.0, t0 + due_n / rate - time.perf_counter()))
    while waiting:
        idle.put_nowait(await idle.get())
        drain()
    deadline = time.perf_counter() + 30
    while len(latencies) < total and time.perf_counter() < deadline:  # noqa: ASYNC110 - a poll, bounded
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - t0
    ms = sorted(x * 1000 for x in latencies)
    return {
        "rate": rate,
        "sent": total,
        "completed": len(latencies),
        "achieved_rps": round(len(latencies) / elapsed, 1),
        "statuses": statuses,
        "p50_ms": _pct(ms, 50),
        "p90_ms": _pct(ms, 90),
        "p99_ms": _pct(ms, 99),
        "p999_ms": _pct(ms, 99.9),
        "max_ms": round(ms[-1], 3) if ms else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, required=True, help="requests per second")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("request", nargs="+", type=Path, help="files with one raw HTTP/1.1 request each")
    args = ap.parse_args()
    requests = [p.read_bytes() for p in args.request]
    result = uvloop.run(run(args.host, args.port, requests, args.rate, args.seconds, args.connections))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
