"""The data inventory: complete, served, printed, and true of what the store really writes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio
from factories import AUTH, make_settings, running
from privacy_logs import run_flows
from redis_server import delete_prefix, redis_url
from typer.testing import CliRunner
from webhook_setup import webhook_env

from service.cli.main import app
from service.flows.events import CHECK_COMPLETED, publish
from service.flows.worker import WorkerConfig, deliver_once
from service.privacy.inventory import inventory, inventory_document, undocumented
from service.privacy.scan import scan_store
from service.store.events import EVENT_FIELD_NAMES
from service.store.key_classes import KEY_CLASSES, key_class_of
from service.store.keys import Keys


def test_every_key_class_and_field_is_documented() -> None:
    assert undocumented() == [], "document them: records.py field metadata, or SHAPES in inventory.py"
    assert [e.key_class.name for e in inventory()] == [kc.name for kc in KEY_CLASSES]


def test_pseudonymous_ids_are_personal_data_and_system_fields_are_not() -> None:
    fields = {(e.key_class.name, f.name): f for e in inventory() if e.shape for f in e.shape.fields}
    assert fields[("record", "sid")].personal and fields[("check", "sid")].personal
    assert fields[("record", "band")].personal and fields[("check", "signals[].lo")].personal
    assert not fields[("record", "policy_version")].personal
    record = next(e for e in inventory() if e.key_class.name == "record")
    assert record.as_dict()["retention"] == "retention period from the policy"


@pytest.mark.anyio
async def test_api_serves_the_inventory_without_credentials_and_cli_prints_the_same() -> None:
    async with running() as run:
        r = await run.http.get("/v1/privacy/inventory")
    assert r.status_code == 200
    assert r.json() == inventory_document()
    result = CliRunner().invoke(app, ["privacy", "inventory", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == r.json()
    table = CliRunner().invoke(app, ["privacy", "inventory"])
    assert table.exit_code == 0 and "recheck_at" in table.stdout


def _field_names(value: Any, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for k, v in value.items():
        names.add(prefix + k)
        for item in v if isinstance(v, list) else []:
            if isinstance(item, dict):
                names |= _field_names(item, f"{prefix}{k}[].")
    return names


@pytest.mark.anyio
@pytest.mark.redis
async def test_the_store_never_writes_a_field_the_inventory_does_not_list() -> None:
    url, prefix = redis_url(), f"inv{uuid.uuid4().hex[:8]}"
    settings = make_settings(store={"backend": "redis", "redis_url": url, "prefix": prefix})
    admin = redis.asyncio.Redis.from_url(url)
    try:
        async with running(settings) as run:
            await run_flows(run)
            check = await run.start_check("carol")  # an open check stays in the store
            await run.evidence(check["check_id"], {"method": "self_declaration", "birth_year": 2012})
            await run.adult_token("dave")
            r = await run.http.post("/v1/tokens/refresh", json={"subject": "dave"}, headers=AUTH)
            assert r.status_code == 200
            listed = {e.key_class.name: e.field_names() for e in inventory()}
            json_values = 0
            async for key in admin.scan_iter(match=f"{prefix}:*"):
                kc = key_class_of(key.decode(), prefix)
                assert kc is not None, f"{key!r} is of no documented key class"
                if (await admin.type(key)).decode() != "string":
                    continue
                raw = (await admin.get(key) or b"").decode()
                if raw.startswith("{"):
                    json_values += 1
                    unlisted = _field_names(json.loads(raw)) - listed[kc.name]
                    assert not unlisted, f"{kc.name} stores fields the inventory lacks: {unlisted}"
            assert json_values >= 3, "the flows stored too little for this test to prove anything"
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()


@pytest.mark.anyio
@pytest.mark.redis
async def test_webhook_events_in_the_stream_retries_and_dead_letters_hold_only_listed_fields(
    tmp_path: Path,
) -> None:
    async with webhook_env(tmp_path) as (settings, receiver, prefix), running(settings) as run:
        admin = redis.asyncio.Redis.from_url(redis_url())
        svc, keys = run.services, Keys(prefix)
        cfg = WorkerConfig(consumer="inv", block_ms=0, timeout_s=2.0, claim_idle_ms=5000)
        async with httpx.AsyncClient(timeout=cfg.timeout_s) as http:
            receiver.status = 410  # gone for good: dead-lettered at once
            sid, _ = await run.adult_token("kim")  # check.completed
            await svc.store.events.ensure_group(cfg.group)  # the stream exists now
            assert await deliver_once(svc.worker, http, cfg) == 1
            receiver.status = 500  # retried later
            r = await run.http.post("/v1/subjects/revoke", json={"sid": sid}, headers=AUTH)  # subject.revoked
            assert r.status_code == 200 and await deliver_once(svc.worker, http, cfg) == 1
        await run.adult_token("lee")  # stays on the stream, undelivered
        try:
            seen: dict[str, set[str]] = {}
            for key, members in (
                (keys.events(), [f for _, f in await admin.xrange(keys.events())]),
                (keys.retries(), [json.loads(m) for m in await admin.zrange(keys.retries(), 0, -1)]),
                (keys.dead(), [json.loads(m) for m in await admin.lrange(keys.dead(), 0, -1)]),
            ):
                kc = key_class_of(key, prefix)
                assert kc is not None and len(members) == 1, key
                fields = {_str(k): _str(v) for k, v in members[0].items()}
                names = set(fields) | _dotted(json.loads(fields["body"]), "body.")
                entry = next(e for e in inventory() if e.key_class.name == kc.name)
                assert names - entry.field_names() == set(), (
                    f"{kc.name}: unlisted {names - entry.field_names()}"
                )
                seen[kc.name] = names
            assert "body.data.sid" in seen["event_stream"] and "body.data.reason" in seen["event_retries"]
            # scan-store says the same, and finds no personal value in them.
            scan = await scan_store(admin, prefix)
            assert scan.violations == [], scan.violations
            assert set(scan.fields_seen) >= {"event_stream", "event_retries", "event_dead_letters"}
        finally:
            await admin.aclose()


def test_every_event_field_is_in_the_inventory_with_purpose_and_personal_flag() -> None:
    stream = next(e for e in inventory() if e.key_class.name == "event_stream").as_dict()
    fields = {f["name"]: f for f in stream["fields"]}
    assert set(fields) == EVENT_FIELD_NAMES and stream["fields_enumerated"] and stream["personal"]
    assert fields["body.data.sid"]["personal"] and not fields["id"]["personal"]
    assert all(f["purpose"] for f in fields.values())
    assert "event retention" in stream["retention"]


@pytest.mark.anyio
@pytest.mark.redis
async def test_publishing_an_event_with_an_unlisted_field_is_refused(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, _, prefix), running(settings) as run:
        with pytest.raises(ValueError, match=r"missing from the data inventory: \['body.data.birthdate'\]"):
            await publish(
                run.services.worker.lifecycle.publishing,
                "demo",
                CHECK_COMPLETED,
                {"sid": "x", "birthdate": "2012-01-02"},
            )
        assert await run.services.store.events.dead_letters(10) == []
        admin = redis.asyncio.Redis.from_url(redis_url())
        try:
            assert await admin.exists(Keys(prefix).events()) == 0
        finally:
            await admin.aclose()


def _dotted(value: Any, prefix: str) -> set[str]:
    """Dotted names of a JSON object's fields, nested objects included."""
    names: set[str] = set()
    for k, v in value.items():
        names.add(prefix + k)
        if isinstance(v, dict):
            names |= _dotted(v, f"{prefix}{k}.")
    return names


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
