"""``ageband privacy scan-store`` against a real Redis: clean after real flows, loud on violations."""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import pytest
import redis.asyncio
from click.testing import Result
from factories import make_settings, running
from privacy_logs import run_flows
from redis_server import delete_prefix, redis_url
from rendered_tables import WIDTH, tables
from typer.testing import CliRunner

from service.cli.main import app
from service.store.codec import encode
from service.store.keys import Keys
from service.store.record_codec import decode_record


async def scan(url: str, prefix: str) -> tuple[int, dict[str, Any]]:
    """The CLI as a reviewer runs it (its own event loop, so in a thread here)."""
    args = ["privacy", "scan-store", "--redis-url", url, "--prefix", prefix, "--json"]
    result = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(app, args))
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.anyio
@pytest.mark.redis
async def test_scan_store_reports_classes_ttls_and_violations() -> None:
    url, prefix = redis_url(), f"scan{uuid.uuid4().hex[:8]}"
    settings = make_settings(store={"backend": "redis", "redis_url": url, "prefix": prefix})
    admin = redis.asyncio.Redis.from_url(url)
    try:
        async with running(settings) as run:
            await run_flows(run)
            await run.adult_token("erin")
        code, report = await scan(url, prefix)
        assert code == 0, report["violations"]
        classes = {c["key_class"]: c for c in report["classes"]}
        assert {"check", "record", "due_index", "revocation"} <= set(classes)
        assert all(c["without_ttl"] == 0 and c["ttl_min"] > 0 for c in classes.values())
        assert classes["check"]["ttl_max"] <= 15 * 60

        await admin.set(f"{prefix}:sub:{{sid_forever}}:rec", json.dumps({"sid": "x", "email": "a@b.example"}))
        await admin.set(f"{prefix}:stray", "1", ex=60)
        await admin.zadd(f"{prefix}:due:{{demo}}", {"2030-01-01|+44 20 7946 0958": 0})
        code, report = await scan(url, prefix)
        assert code == 1
        found = {(v["kind"], v["key_class"]) for v in report["violations"]}
        assert {
            ("no_ttl", "record"),
            ("field_not_in_inventory", "record"),
            ("pii_in_store", "record"),
            ("unknown_key_class", None),
            ("pii_in_store", "due_index"),
        } <= found
        assert "a@b.example" not in json.dumps(report["violations"])
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()


@pytest.mark.anyio
@pytest.mark.redis
async def test_scan_store_table_fits_80_columns_and_progress_shows_only_on_a_terminal() -> None:
    url, prefix = redis_url(), f"scan{uuid.uuid4().hex[:8]}"
    settings = make_settings(store={"backend": "redis", "redis_url": url, "prefix": prefix})
    admin = redis.asyncio.Redis.from_url(url)
    args = ["privacy", "scan-store", "--redis-url", url, "--prefix", prefix]

    def run(*extra: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(app, [*args, *extra], env=env)

    try:
        async with running(settings) as flows:
            await run_flows(flows)
        piped = await anyio.to_thread.run_sync(lambda: run("--json"))
        assert piped.exit_code == 0, piped.output
        assert piped.stderr == ""
        classes = [c["key_class"] for c in json.loads(piped.stdout)["classes"]]

        wide = await anyio.to_thread.run_sync(lambda: run(env=WIDTH))
        assert wide.exit_code == 0, wide.output
        assert f"keys scanned under {prefix}:" in wide.stderr
        [table] = tables(wide.stdout)
        assert all(len(line) <= 80 for line in table.lines)
        assert not any("…" in line for line in table.lines)
        assert table.header == ["keyclass", "keys", "withoutTTL", "TTLmin(s)", "TTLp50(s)", "TTLmax(s)"]
        assert table.body[0] == "".join(classes)

        as_json = await anyio.to_thread.run_sync(lambda: run("--json", env=WIDTH))
        assert [c["key_class"] for c in json.loads(as_json.stdout)["classes"]] == classes
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()


def test_scan_store_without_redis_exits_two() -> None:
    result = CliRunner().invoke(
        app, ["privacy", "scan-store", "--redis-url", "redis://127.0.0.1:1", "--prefix", "x"]
    )
    assert result.exit_code == 2


@pytest.mark.anyio
@pytest.mark.redis
async def test_dates_are_judged_by_the_field_they_are_in() -> None:
    """Our own day fields may hold days of any age; a date anywhere else is found, however recent."""
    url, prefix = redis_url(), f"scd{uuid.uuid4().hex[:8]}"
    settings = make_settings(store={"backend": "redis", "redis_url": url, "prefix": prefix})
    admin = redis.asyncio.Redis.from_url(url)
    keys = Keys(prefix)
    try:
        async with running(settings) as run:
            sid, _ = await run.adult_token("otto")
        # Stored packed; rewritten here in the JSON form that records written before the packed
        # one still have (the scan reads both), so that single fields can be edited.
        record = json.loads(encode(decode_record(await admin.get(keys.record(sid)), sid)))
        record["assured_at"] = "2019-01-01"  # a record kept for years: old, and ours
        await admin.set(keys.record(sid), json.dumps(record), keepttl=True)
        event = {"type": "subject.recheck_due", "timestamp": "2026-03-10T12:00:00Z",
                 "data": {"sid": sid, "recheck_at": "2020-02-01", "grace_ends": "2020-03-01"}}  # fmt: skip
        fields = {"id": "evt_1", "client": "demo", "type": "subject.recheck_due", "attempt": "0"}
        await admin.xadd(keys.events(), {**fields, "body": json.dumps(event)})
        await admin.expire(keys.events(), 60)
        code, report = await scan(url, prefix)
        assert code == 0, report["violations"]

        record["band"] = "2024-11-02"  # a toddler's birth date in a field that is not a date
        await admin.set(keys.record(sid), json.dumps(record), keepttl=True)
        event["data"]["reason"] = "01.06.2025"
        await admin.xadd(keys.events(), {**fields, "body": json.dumps(event)})
        code, report = await scan(url, prefix)
        assert code == 1
        found = {(v["key_class"], v["detail"]) for v in report["violations"]}
        assert found == {
            ("record", "date_of_birth at band"),
            ("event_stream", "date_of_birth at body.data.reason"),
        }
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()
