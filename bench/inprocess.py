"""Requests made to an ASGI app in process, and callgrind's counters: shared by the in-process
benchmarks (``bench/stock.py``, ``bench/compare.py``).

This module imports nothing of ageband's, so ``bench/compare.py`` can load it by file path into
an older checkout's interpreter, whose ``service`` (and ``bench``) may differ from this one's.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
KEY = b"Bearer ageband-demo-key"
SELF_DECLARATION = {"method": "self_declaration", "birth_year": 1990}
# A single decision: an adult viewing a minor's profile.
DECISION = {
    "jurisdiction": "default",
    "action": "profile.view",
    "actor": {"band": "18_plus"},
    "target": {"band": "13_15"},
}


async def post(app: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
            (b"authorization", KEY),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    sent = False
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    if answer["status"] >= 300:
        raise RuntimeError(f"{path}: {answer['status']} {answer['body'][:300]!r}")
    return dict(json.loads(answer["body"]))


async def seed(app: Any, subject: str = "bench-user") -> str:
    """A subject with a passing self-declaration check: its sid."""
    started = await post(app, "/v1/checks", {"subject": subject, "jurisdiction": "default"})
    await post(app, f"/v1/checks/{started['check_id']}/evidence", SELF_DECLARATION)
    return str(started["sid"])


class Instructions:
    """Callgrind's client requests, through a helper compiled once into bench/out."""

    C = """#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cg_zero(void) { CALLGRIND_ZERO_STATS; }
void cg_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
"""

    def __init__(self) -> None:
        self.lib = ctypes.CDLL(str(_helper(self.C)))
        self.lib.cg_dump.argtypes = [ctypes.c_char_p]
        self.lib.cg_start()

    def start(self) -> None:
        self.lib.cg_zero()

    def stop(self, label: str) -> float:
        self.lib.cg_dump(label.encode())
        return 0.0  # read from the dump files afterwards


def _helper(source: str) -> Path:
    OUT.mkdir(exist_ok=True)
    lib = OUT / "cgctl.so"
    if not lib.exists():
        (OUT / "cgctl.c").write_text(source)
        subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(lib), str(OUT / "cgctl.c")], check=True)
    return lib
