"""One age-up rule (``lifecycle.age_up``) for refresh and the worker: a record long past its
``age_up_at`` catches up through every band whose day has passed, the same way on both paths."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from factories import AUTH, Running, make_settings, running
from webhook_receiver import start_receiver, webhook_clients_file

from service.app import DEMO_ADMIN_KEY, DEMO_CLIENT_KEY
from service.core.ids import derive_sid
from service.flows import lifecycle, tokens, worker
from service.flows.lifecycle import age_up
from service.store.records import AssuranceRecord

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


async def put(run: Running, subject: str) -> AssuranceRecord:
    """A 12-year-old's record from five years ago that was never refreshed: its age-up day, and
    the next one, have passed."""
    svc = run.services
    record = AssuranceRecord(
        sid=derive_sid(svc.pepper, "demo", subject), client_id="demo", band="under_13", level="basic",
        method="eid_oidc", jurisdiction="default", assured_at=date(2021, 3, 1),
        recheck_at=date(2026, 9, 1), age_up_at=date(2021, 4, 1), policy_version=svc.policy.current.version,
    )  # fmt: skip
    await svc.store.records.put_record(record, int(svc.policy.current.retention.total_seconds()))
    await lifecycle.schedule(svc.worker.lifecycle, record)
    return record


async def band_changes(run: Running) -> list[dict[str, Any]]:
    store = run.services.store
    await store.events.ensure_group("age-up-test")
    got = [json.loads(d.event.body) for d in await store.events.read_events("age-up-test", "t", 100, 0)]
    return [e["data"] for e in got if e["type"] == "subject.band_changed"]


def test_the_age_up_rule_is_public_and_the_one_both_paths_use() -> None:
    assert age_up.__doc__ and "refresh and by the worker" in age_up.__doc__
    assert not hasattr(tokens, "_age_up")
    assert not hasattr(worker, "_age_up")


async def test_refresh_worker_and_the_rule_itself_age_up_alike(tmp_path: Path) -> None:
    receiver = start_receiver()  # only its URL and secret go in the clients file
    receiver.close()
    clients = webhook_clients_file(tmp_path, receiver, DEMO_CLIENT_KEY, DEMO_ADMIN_KEY)
    async with running(make_settings(clients_file=clients), at=NOW) as run:
        svc = run.services
        by_rule, by_refresh, by_worker = [await put(run, s) for s in ("rule", "refresh", "worker")]

        aged = await age_up(svc.worker.lifecycle, by_rule)
        r = await run.http.post("/v1/tokens/refresh", json={"sid": by_refresh.sid}, headers=AUTH)
        assert r.status_code == 200, r.text
        assert await worker.run_timers(svc.worker) == 1  # only by_worker is still due: the others moved on

        # under_13 → 13_15 on 2021-04-01 → 16_17 on 2024-04-01; 18_plus waits for 2026-04-01.
        assert (aged.band, aged.age_up_at) == ("16_17", date(2026, 4, 1))
        assert r.json()["band"] == "16_17"
        for record in (by_rule, by_refresh, by_worker):
            stored = await svc.store.records.get_record(record.sid)
            assert stored is not None
            assert (stored.band, stored.age_up_at) == ("16_17", date(2026, 4, 1))
        # One notice per subject for the whole catch-up, with the band it ended in.
        changes = await band_changes(run)
        assert sorted(c["sid"] for c in changes) == sorted(r.sid for r in (by_rule, by_refresh, by_worker))
        assert {(c["band"], c["reason"]) for c in changes} == {("16_17", "age_up")}
        # Each timer now points at the next age-up day, before the re-check.
        due = await svc.store.timers.timers_due("demo", date(2026, 4, 2), 10)
        assert sorted(sid for sid, _ in due) == sorted(r.sid for r in (by_rule, by_refresh, by_worker))
        assert await svc.store.timers.timers_due("demo", date(2026, 4, 1), 10) == []


async def test_racing_age_ups_of_one_record_notify_the_app_once(tmp_path: Path) -> None:
    """Two workers (or a worker and a refresh) that age the same record at the same moment write
    the same record, and only one of them tells the app."""
    receiver = start_receiver()
    receiver.close()
    clients = webhook_clients_file(tmp_path, receiver, DEMO_CLIENT_KEY, DEMO_ADMIN_KEY)
    async with running(make_settings(clients_file=clients), at=NOW) as run:
        record = await put(run, "raced")
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(age_up, run.services.worker.lifecycle, replace(record))
        stored = await run.services.store.records.get_record(record.sid)
        assert stored is not None and stored.band == "16_17"
        assert [c["band"] for c in await band_changes(run)] == ["16_17"]
        assert len([e for e in run.log_lines() if e.get("event") == "subject.band_changed"]) == 1
