"""The data inventory: complete, served, printed, and true of what the store really writes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import redis.asyncio
from factories import AUTH, make_settings, running
from privacy_logs import run_flows
from redis_server import delete_prefix, redis_url
from typer.testing import CliRunner

from service.cli.main import app
from service.privacy.inventory import inventory, inventory_document, undocumented
from service.store.keys import KEY_CLASSES, key_class_of


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
