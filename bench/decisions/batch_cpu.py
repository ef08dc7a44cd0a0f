"""CPU per batch of 1,000 bands in process: the fast reading against the ordinary one.

Usage: .venv/bin/python -m bench.decisions.batch_cpu   (after bench.decisions.run wrote the body)

``batch_answer`` (read, decide, build the answer) and orjson for the bytes, as the endpoint
does, with ``fast`` on and off, interleaved, 7 rounds of 30; CPU time of this process
(``time.process_time``), so the machine's other load does not count. No HTTP.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import time
from pathlib import Path

import orjson

from service.api.decisions.endpoints import batch_answer
from service.api.deps import Caller
from service.app import DEMO_CLIENT_KEY, create_app
from service.settings import Settings

BODY = Path(__file__).resolve().parent.parent / "out" / "decisions-work" / "ageband_batch.json"


async def _run() -> None:
    raw = BODY.read_bytes()
    app = create_app(Settings(), log_sink=io.StringIO())
    async with app.router.lifespan_context(app):
        svc = app.state.services
        caller = Caller(svc, svc.clients.authenticate(f"Bearer {DEMO_CLIENT_KEY}"), None)
        res: dict[bool, list[float]] = {True: [], False: []}
        for fast in (True, False):
            for _ in range(5):
                orjson.dumps(await batch_answer(caller, raw, fast=fast))
        for _ in range(7):
            for fast in (True, False):
                t = time.process_time()
                for _ in range(30):
                    orjson.dumps(await batch_answer(caller, raw, fast=fast))
                res[fast].append((time.process_time() - t) / 30 * 1e6)
        f, o = statistics.median(res[True]), statistics.median(res[False])
        print(f"per batch of 1,000, CPU µs (median of 7): fast {f:.0f}, ordinary {o:.0f}, ratio {o / f:.2f}")
        print(f"rounds: fast {[round(x) for x in res[True]]}, ordinary {[round(x) for x in res[False]]}")
        print(f"load average: {[round(x, 2) for x in os.getloadavg()]}")


if __name__ == "__main__":
    os.environ.setdefault("AGEBAND_PEPPER", "bench-pepper-" + "x" * 32)
    asyncio.run(_run())
