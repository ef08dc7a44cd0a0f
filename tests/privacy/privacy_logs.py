"""Helpers for the privacy tests: run real flows and keep the log they wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from factories import AUTH, Running, make_settings, running

from service.settings import Settings


async def run_flows(run: Running) -> str:
    """A passed check, an invalid submission, an open check and an erasure; returns the sid erased."""
    sid, _ = await run.adult_token("alice")
    check = await run.start_check("bob")
    r = await run.evidence(check["check_id"], {"method": "self_declaration", "birth_year": "not a year"})
    assert r.status_code == 422, r.text
    r = await run.http.post("/v1/subjects/erase", json={"sid": sid}, headers=AUTH)
    assert r.status_code == 200, r.text
    return sid


async def flows_log(path: Path, settings: Settings | None = None) -> Path:
    """Run the flows on a fresh app and write its whole log (shutdown checkpoint included)."""
    async with running(settings or make_settings()) as run:
        await run_flows(run)
        logs = run.logs
    await anyio.Path(path).write_text(logs.getvalue(), encoding="utf-8")
    return path


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_events(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path
