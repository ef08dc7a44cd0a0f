"""Each hand-written fast path that stays against its stock counterpart, per request, in one
process.

Usage: .venv/bin/python -m bench.stock [--rounds 7] [--requests 100]            # CPU time
       .venv/bin/python -m bench.stock --instructions [--rounds 1] [--requests 10]  # callgrind

The ASGI app is called in process (no sockets), so the figures are the app's own work per
request. Each comparison switches one path at run time, so both sides run in the same process
and their blocks of requests interleave (ours, stock, stock, ours, ...), and drift on a shared
machine hits both alike; a switch is made outside the measured block:

- ``direct_routes``: refresh and a single decision through ``DirectRoutes``, or through FastAPI's
  router (a second app, built the same way, with that middleware taken out);
- ``timestamp``: ``SecondCachingTimestamper``, or structlog's ``TimeStamper`` with the same format
  (swapped in place in the configured processor chain).

Time: the median over rounds of CPU µs per request (the event loop's thread). Instructions
(``--instructions``): the script runs itself under ``valgrind --tool=callgrind`` with
instrumentation off until the apps are up and warm, then counts each block alone through
callgrind's client requests (a small C helper compiled into ``bench/out/``); counts are
repeatable under load, so one round does. The saving of a path is ``(stock - ours) / stock``:
the share of a request it saves. A whole check (create, then self-declared evidence) counts as
one. Results go to stdout and ``bench/out/stock_{time,instructions}.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import structlog
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from bench.inprocess import DECISION, SELF_DECLARATION, Instructions, post, seed
from service.api.direct_routes import DirectRoutes
from service.app import create_app
from service.audit.logging import SecondCachingTimestamper
from service.settings import Settings

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

Call = Callable[[], Awaitable[None]]


class Requests:
    """The requests each comparison times, against one app."""

    def __init__(self, app: FastAPI, sid: str) -> None:
        self.app, self.sid, self.n = app, sid, 0

    async def refresh(self) -> None:
        await post(self.app, "/v1/tokens/refresh", {"sid": self.sid})

    async def decision(self) -> None:
        await post(self.app, "/v1/decisions", DECISION)

    async def check(self) -> None:
        """A whole self-declaration check: two requests (create, then evidence)."""
        self.n += 1
        started = await post(
            self.app, "/v1/checks", {"subject": f"bench-{id(self)}-{self.n}", "jurisdiction": "default"}
        )
        await post(self.app, f"/v1/checks/{started['check_id']}/evidence", SELF_DECLARATION)


# Switches: each yields with the stock path in place and puts ours back after ------------------
@contextlib.contextmanager
def stock_timestamp() -> Iterator[None]:
    """structlog's ``TimeStamper``, same format, swapped in place in the configured chain (the
    list cached loggers hold)."""
    processors = structlog.get_config()["processors"]
    (at,) = [i for i, p in enumerate(processors) if isinstance(p, SecondCachingTimestamper)]
    ours = processors[at]
    processors[at] = structlog.processors.TimeStamper(fmt="%Y-%m-%dT%H:%M:%S.%fZ", utc=True)
    try:
        yield
    finally:
        processors[at] = ours


# Measures ----------------------------------------------------------------------------------
class Timer:
    """CPU time of this thread (the event loop's), not wall time: on a shared machine the
    scheduler's pauses would otherwise land on whichever block was running."""

    def __init__(self) -> None:
        self.t0 = 0.0

    def start(self) -> None:
        self.t0 = time.thread_time()

    def stop(self, label: str) -> float:
        return (time.thread_time() - self.t0) * 1e6  # µs


# The comparisons: (name, requests it matters to, how to switch the stock path in) ------------
Switch = Callable[[], contextlib.AbstractContextManager[None]]
Side = tuple[Call, Switch]


def _comparisons(ours: Requests, router: Requests) -> dict[str, dict[str, tuple[Side, Side]]]:
    """comparison -> request -> (our side, the stock side): a call and the switch it runs under."""
    out: dict[str, dict[str, tuple[Side, Side]]] = {
        "direct_routes": {
            "refresh": ((ours.refresh, contextlib.nullcontext), (router.refresh, contextlib.nullcontext)),
            "decision": ((ours.decision, contextlib.nullcontext), (router.decision, contextlib.nullcontext)),
        }
    }
    out["timestamp"] = {
        kind: ((getattr(ours, kind), contextlib.nullcontext), (getattr(ours, kind), stock_timestamp))
        for kind in ("refresh", "decision", "check")
    }
    return out


async def _block(side: Side, n: int, meter: Timer | Instructions | None = None, label: str = "") -> float:
    """``n`` calls under the side's switch; the switch itself is outside what is measured."""
    call, switch = side
    with switch():
        if meter is not None:
            meter.start()
        for _ in range(n):
            await call()
        return meter.stop(label) if meter is not None else 0.0


Meter = Callable[[], "Timer | Instructions"]


async def measure(rounds: int, requests: int, make_meter: Meter) -> dict[str, Any]:
    os.environ.setdefault("AGEBAND_PEPPER", "bench-pepper-" + "x" * 32)
    settings = Settings()
    ours_app, router_app = create_app(settings), create_app(settings)
    router_app.user_middleware = [m for m in router_app.user_middleware if m.cls is not DirectRoutes]
    async with LifespanManager(ours_app), LifespanManager(router_app):
        ours = Requests(ours_app, await seed(ours_app))
        router = Requests(router_app, await seed(router_app))
        comparisons = _comparisons(ours, router)
        # Warm-up: every path, both sides, before anything is counted.
        for per_kind in comparisons.values():
            for ours_side, stock_side in per_kind.values():
                await _block(ours_side, 20)
                await _block(stock_side, 20)
        meter = make_meter()  # callgrind's counting starts here
        results: dict[str, dict[str, dict[str, list[float]]]] = {}
        for r in range(rounds):
            for comparison, per_kind in comparisons.items():
                for kind, (ours_side, stock_side) in per_kind.items():
                    sides = [("ours", ours_side), ("stock", stock_side)]
                    for name, side in sides if r % 2 == 0 else sides[::-1]:
                        value = await _block(side, requests, meter, f"{comparison}/{kind}/{name}/{r}")
                        per = results.setdefault(comparison, {}).setdefault(kind, {})
                        per.setdefault(name, []).append(value / requests)
    return results


def _summary(results: dict[str, dict[str, dict[str, list[float]]]], unit: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for comparison, per_kind in results.items():
        for kind, sides in per_kind.items():
            ours, stock = statistics.median(sides["ours"]), statistics.median(sides["stock"])
            paired = [(s - o) / s for o, s in zip(sides["ours"], sides["stock"], strict=True)]
            out.setdefault(comparison, {})[kind] = {
                f"ours_{unit}": round(ours, 1),
                f"stock_{unit}": round(stock, 1),
                "saving": round((stock - ours) / stock, 4),
                "saving_paired_median": round(statistics.median(paired), 4),
                "rounds": {k: [round(v, 1) for v in vs] for k, vs in sides.items()},
            }
    return out


def _read_dumps(folder: Path, requests: int) -> dict[str, dict[str, dict[str, list[float]]]]:
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    for path in sorted(folder.glob("callgrind.out.*")):
        text = path.read_text(errors="replace")
        label = re.search(r"^desc: Trigger: Client Request: (\S+)", text, re.M)
        totals = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
        if not label or not totals:
            continue
        comparison, kind, side, _ = label.group(1).split("/")
        per = results.setdefault(comparison, {}).setdefault(kind, {})
        per.setdefault(side, []).append(int(totals.group(1)) / requests)
    return results


def _under_callgrind(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is needed: apt-get install valgrind")
    folder = OUT / "callgrind"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={folder}/callgrind.out.%p",
    ]
    cmd += [sys.executable, "-m", "bench.stock", "--child", "--rounds", str(args.rounds)]
    cmd += ["--requests", str(args.requests)]
    subprocess.run(cmd, check=True, cwd=HERE.parent, stdout=subprocess.DEVNULL)
    return _summary(_read_dumps(folder, args.requests), "instructions")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--instructions", action="store_true", help="count instructions under callgrind")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:  # under callgrind: log lines to stdout, counts to the dump files
        asyncio.run(measure(args.rounds, args.requests, Instructions))
        return
    if args.instructions:
        result = {"measure": "instructions per request (callgrind)", **_under_callgrind(args)}
        name = "stock_instructions.json"
    else:
        # The audit log and request lines go to stdout: keep them off the terminal.
        saved = os.dup(1)
        with Path(os.devnull).open("w") as null:
            os.dup2(null.fileno(), 1)
            try:
                results = asyncio.run(measure(args.rounds, args.requests, Timer))
            finally:
                os.dup2(saved, 1)
        result = {"measure": "µs per request (in process, interleaved)", **_summary(results, "us")}
        name = "stock_time.json"
    result["settings"] = {"rounds": args.rounds, "requests": args.requests}
    OUT.mkdir(exist_ok=True)
    (OUT / name).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
