"""Instructions per request of one checkout, in process: run by ``bench/compare.py`` under callgrind.

Run as a script with the checkout as the working directory and its own interpreter, so that
``service`` is that checkout's. It loads ``bench/inprocess.py`` by file path (not as ``bench``,
which an older checkout has in another form). Each kind is warmed up, then counted alone, and
named in the dump's trigger; a kind the checkout cannot answer is reported, not counted.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path.cwd()))  # the checkout's service, before anything else

_spec = importlib.util.spec_from_file_location("inprocess", Path(__file__).with_name("inprocess.py"))
assert _spec is not None and _spec.loader is not None
inprocess = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(inprocess)

from asgi_lifespan import LifespanManager  # noqa: E402 - after the checkout is on the path

from service.app import create_app  # noqa: E402
from service.settings import Settings  # noqa: E402


async def main(requests: int, warm: int, failures: Path) -> None:
    os.environ.setdefault("AGEBAND_PEPPER", "bench-pepper-" + "x" * 32)
    app = create_app(Settings())
    post, counted = inprocess.post, 0
    async with LifespanManager(app):
        sid = await inprocess.seed(app)

        async def check() -> Any:
            nonlocal counted
            counted += 1
            return await inprocess.seed(app, f"bench-{counted}")

        kinds = {
            "refresh": lambda: post(app, "/v1/tokens/refresh", {"sid": sid}),
            "decision": lambda: post(app, "/v1/decisions", inprocess.DECISION),
            "check": check,
        }
        failed: dict[str, str] = {}
        for name, call in kinds.items():
            try:
                for _ in range(warm):
                    await call()
            except RuntimeError as exc:  # this checkout does not answer it (an older API)
                failed[name] = str(exc)[:300]
        failures.write_text(json.dumps(failed))  # noqa: ASYNC240 - before counting, once
        meter = inprocess.Instructions()  # counting starts here
        for name, call in kinds.items():
            if name in failed:
                continue
            gc.collect()  # no collection of the warm-up's garbage inside the count
            meter.start()
            for _ in range(requests):
                await call()
            meter.stop(name)


if __name__ == "__main__":
    requests, warm, failures = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    # The audit log and request lines go to stdout: keep them out of the report.
    saved = os.dup(1)
    with Path(os.devnull).open("w") as null:
        os.dup2(null.fileno(), 1)
        try:
            asyncio.run(main(requests, warm, failures))
        finally:
            os.dup2(saved, 1)
