"""Retention set by the policy, and erasure: every key of the subject goes, audited without its sid."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio
from factories import AUTH, make_settings, running
from redis_server import delete_prefix, redis_url

from service.audit.events import sid_ref
from service.policy.loader import load_policy
from service.store.keys import Keys


@pytest.mark.anyio
@pytest.mark.redis
async def test_record_ttl_is_the_policy_retention_and_erasure_leaves_only_a_timestamp() -> None:
    url, prefix = redis_url(), f"era{uuid.uuid4().hex[:8]}"
    settings = make_settings(store={"backend": "redis", "redis_url": url, "prefix": prefix})
    retention = int(load_policy(settings.policy_path).retention.total_seconds())
    keys = Keys(prefix)
    admin = redis.asyncio.Redis.from_url(url)
    try:
        async with running(settings) as run:
            sid, _ = await run.adult_token("frank")
            assert await admin.ttl(keys.record(sid)) == retention
            assert await admin.zscore(keys.due("demo"), sid) is not None
            before = len(run.logs.getvalue())
            r = await run.http.post("/v1/subjects/erase", json={"sid": sid}, headers=AUTH)
            assert r.status_code == 200
            erase_logs = run.logs.getvalue()[before:]
            pepper = run.services.pepper
            remaining = {}
            async for key in admin.scan_iter(match=f"{prefix}:*"):
                name = key.decode()
                kind = (await admin.type(key)).decode()
                value = (await admin.get(key) or b"").decode() if kind == "string" else ""
                members = [m.decode() for m in await admin.zrange(key, 0, -1)] if kind == "zset" else []
                if sid in name or sid in value or any(sid in m for m in members):
                    remaining[name] = (value, await admin.ttl(key))
        # The revocation marker must outlive the record to void tokens already issued: it holds a
        # timestamp and nothing else, for the token lifetime plus leeway. The passed check keeps
        # the sid until the check's own TTL (at most 15 minutes) ends it.
        marker = remaining.pop(keys.revoked(sid))
        assert marker[0].isdigit() and 0 < marker[1] <= run.services.revocation_ttl
        checks_only = all(
            name.startswith(f"{prefix}:chk:") and ttl <= 900 for name, (_, ttl) in remaining.items()
        )
        assert checks_only, sorted(remaining)
        assert sid not in erase_logs
        assert sid_ref(pepper, sid) in erase_logs and '"subject.erased"' in erase_logs
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()
