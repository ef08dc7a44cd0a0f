"""Lifecycle timers with a pinned clock: age-up at ``age_up_at`` where the level allows, and the
re-check notice when ``recheck_at`` passes, then grace, then ``recheck_required``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import AUTH, Running, make_settings, running, write_policy
from webhook_receiver import start_receiver, webhook_clients_file

from service.app import DEMO_ADMIN_KEY, DEMO_CLIENT_KEY
from service.core.ids import derive_sid
from service.flows import lifecycle
from service.flows.worker import run_timers
from service.store.records import AssuranceRecord

pytestmark = pytest.mark.anyio
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def settings(tmp_path: Path, **overrides: Any) -> Any:
    receiver = start_receiver()  # only its URL and secret go in the clients file
    receiver.close()
    clients = webhook_clients_file(tmp_path, receiver, DEMO_CLIENT_KEY, DEMO_ADMIN_KEY)
    return make_settings(clients_file=clients, **overrides)


async def put(run: Running, subject: str, **fields: Any) -> AssuranceRecord:
    svc = run.services
    base: dict[str, Any] = {
        "sid": derive_sid(svc.pepper, "demo", subject), "client_id": "demo", "band": "13_15",
        "level": "basic", "method": "os_signal", "jurisdiction": "default",
        "assured_at": START.date(), "recheck_at": date(2026, 9, 1), "age_up_at": None,
        "policy_version": svc.policy.current.version,
    }  # fmt: skip
    base.update(fields)
    record = AssuranceRecord(**base)  # as a passing check with an exact interval writes it
    await svc.store.records.put_record(record, int(svc.policy.current.retention.total_seconds()))
    await lifecycle.schedule(svc.worker.lifecycle, record)
    return record


async def events(run: Running) -> list[dict[str, Any]]:
    store = run.services.store
    await store.events.ensure_group("test")
    return [json.loads(d.event.body) for d in await store.events.read_events("test", "t", 100, 0)]


async def test_age_up_moves_the_band_on_the_day_and_tells_the_app(tmp_path: Path) -> None:
    async with running(settings(tmp_path), at=START) as run:
        record = await put(run, "minor", age_up_at=date(2026, 4, 1))
        assert await run_timers(run.services.worker) == 0
        run.clock.set(datetime(2026, 3, 31, 23, 59, tzinfo=UTC))
        assert await run_timers(run.services.worker) == 0
        run.clock.set(datetime(2026, 4, 1, 0, 1, tzinfo=UTC))
        assert await run_timers(run.services.worker) == 1
        moved = await run.services.store.records.get_record(record.sid)
        assert moved is not None
        assert (moved.band, moved.age_up_at) == ("16_17", date(2028, 4, 1))  # 16 → 18: two years on
        (changed,) = [e for e in await events(run) if e["type"] == "subject.band_changed"]
        assert changed["data"] == {"sid": record.sid, "band": "16_17", "reason": "age_up"}
        # The next timer is the re-check date; nothing runs before it.
        assert await run.services.store.timers.timers_due("demo", date(2026, 9, 1), 10) == []
        r = await run.http.post("/v1/tokens/refresh", json={"sid": record.sid}, headers=AUTH)
        assert r.json()["band"] == "16_17"


async def test_age_up_waits_for_a_check_when_the_next_band_needs_a_higher_level(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path, replace={"16_17: basic, 18_plus: basic": "16_17: basic, 18_plus: effective"}
    )
    async with running(settings(tmp_path, policy_path=policy), at=START) as run:
        record = await put(run, "almost-adult", band="16_17", age_up_at=date(2026, 4, 1))
        run.clock.set(datetime(2026, 4, 2, tzinfo=UTC))
        assert await run_timers(run.services.worker) == 1
        kept = await run.services.store.records.get_record(record.sid)
        assert kept is not None
        assert kept.band == "16_17"  # a basic level cannot assert 18_plus here: the re-check will
        assert [e for e in await events(run) if e["type"] == "subject.band_changed"] == []
        r = await run.http.post("/v1/tokens/refresh", json={"sid": record.sid}, headers=AUTH)
        assert r.json()["band"] == "16_17"


async def test_recheck_due_then_grace_then_recheck_required(tmp_path: Path) -> None:
    async with running(settings(tmp_path), at=START) as run:
        record = await put(run, "rechecked", band="18_plus", recheck_at=date(2026, 4, 1))
        refresh = {"json": {"sid": record.sid}, "headers": AUTH}
        run.clock.set(datetime(2026, 3, 31, 23, 0, tzinfo=UTC))
        await run_timers(run.services.worker)
        assert (await run.http.post("/v1/tokens/refresh", **refresh)).json()["recheck_due"] is False
        run.clock.set(datetime(2026, 4, 1, 0, 0, tzinfo=UTC))
        assert await run_timers(run.services.worker) == 1
        assert await run_timers(run.services.worker) == 0  # the timer is gone: one notice per date
        (due,) = [e for e in await events(run) if e["type"] == "subject.recheck_due"]
        assert due["data"] == {"sid": record.sid, "recheck_at": "2026-04-01", "grace_ends": "2026-04-15"}
        r = await run.http.post("/v1/tokens/refresh", **refresh)
        assert (r.status_code, r.json()["recheck_due"]) == (200, True)  # in grace
        run.clock.set(datetime(2026, 4, 14, 23, 59, tzinfo=UTC))
        assert (await run.http.post("/v1/tokens/refresh", **refresh)).status_code == 200
        run.clock.advance(timedelta(minutes=1))
        r = await run.http.post("/v1/tokens/refresh", **refresh)
        assert (r.status_code, r.json()["code"]) == (409, "recheck_required")


async def test_timers_of_erased_subjects_are_dropped(tmp_path: Path) -> None:
    async with running(settings(tmp_path), at=START) as run:
        record = await put(run, "erased", recheck_at=date(2026, 3, 11))
        r = await run.http.post("/v1/subjects/erase", json={"sid": record.sid}, headers=AUTH)
        assert r.status_code == 200
        run.clock.set(datetime(2026, 3, 12, tzinfo=UTC))
        assert await run_timers(run.services.worker) == 0
        assert await run.services.store.timers.timers_due("demo", date(2027, 1, 1), 10) == []
