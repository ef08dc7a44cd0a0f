"""Canaries through re-check requests, appeals, guardian confirmation and trusted connections on
the Redis store: the users' own references (e-mail addresses), the guardian's one-time code and
the pair nonce appear in no log, key or value; after erasure nothing of the subjects is left but
the short-lived revocation markers (and indexes that name only keyed hashes)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio
from factories import AUTH, Running, make_settings, running
from redis_server import delete_prefix, redis_url

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

CHILD = "canary.child+5521@example.org"
PARENT = "canary.parent+5521@example.org"
SIBLING = "canary.sibling+5521@example.org"
PLAY_VERIFIED_ADULT = {
    "method": "os_signal",
    "source": "google_play",
    "user_status": "VERIFIED",
    "age_lower": 18,
}
GUARDED = {"method": "os_signal", "source": "apple", "declaration": "guardian_declared"}


async def _call(run: Running, seen: list[httpx.Response], path: str, body: dict[str, Any]) -> httpx.Response:
    r = await run.http.post(path, json=body, headers=AUTH)
    assert r.status_code < 500, r.text
    seen.append(r)
    return r


async def _check(
    run: Running, seen: list[httpx.Response], subject: str, evidence: dict[str, Any], **extra: Any
) -> Any:
    r = await _call(run, seen, "/v1/checks", {"subject": subject, "jurisdiction": "default", **extra})
    return (await _call(run, seen, f"/v1/checks/{r.json()['check_id']}/evidence", evidence)).json()


async def _dump(client: redis.asyncio.Redis, prefix: str) -> list[str]:
    out: list[str] = []
    async for raw in client.scan_iter(match=f"{prefix}:*", count=500):
        key = raw.decode()
        out.append(key)
        kind = (await client.type(key)).decode()
        if kind == "string":
            out.append((await client.get(key) or b"").decode())
        elif kind == "set":
            out.extend(v.decode() for v in await client.smembers(key))
        elif kind == "zset":
            out.extend(m.decode() for m in await client.zrange(key, 0, -1))
        elif kind == "stream":
            out.extend(str(e) for e in await client.xrange(key))
        elif kind == "list":
            out.extend(v.decode() for v in await client.lrange(key, 0, -1))
    return out


async def test_review_flows_leave_no_canary_and_erasure_leaves_nothing_of_the_subjects() -> None:
    url, prefix = redis_url(), f"rvw{uuid.uuid4().hex[:8]}"
    admin = redis.asyncio.Redis.from_url(url)
    seen: list[httpx.Response] = []
    try:
        async with running(
            make_settings(store={"backend": "redis", "redis_url": url, "prefix": prefix})
        ) as run:
            await _check(run, seen, CHILD, {"method": "self_declaration", "birth_year": 2015})
            await _check(run, seen, PARENT, PLAY_VERIFIED_ADULT)
            sibling = await _check(run, seen, SIBLING, {**GUARDED, "lower_bound": 16, "upper_bound": 17})
            await _call(run, seen, "/v1/subjects/recheck", {"subject": CHILD, "reason": "moderator_request"})
            await _call(run, seen, "/v1/subjects/recheck", {"subject": PARENT, "reason": "dislike"})  # 422
            await _call(
                run, seen, "/v1/checks", {"subject": CHILD, "jurisdiction": "default", "purpose": "appeal"}
            )
            code = (await _call(run, seen, "/v1/guardians/codes", {"subject": CHILD})).json()["code"]
            await _call(run, seen, "/v1/guardians/confirm", {"subject": PARENT, "code": code})
            await _call(run, seen, "/v1/guardians/confirm", {"subject": PARENT, "code": code})  # used
            refreshed = await _call(run, seen, "/v1/tokens/refresh", {"subject": CHILD})
            opened = await _call(
                run, seen, "/v1/connections", {"jurisdiction": "default", "token": sibling["token"]["token"]}
            )
            nonce = opened.json()["nonce"]
            body = {"jurisdiction": "default", "token": refreshed.json()["token"], "nonce": nonce}
            await _call(run, seen, "/v1/connections/confirm", body)
            during = await _dump(admin, prefix)
            for subject in (CHILD, PARENT, SIBLING):
                await _call(run, seen, "/v1/subjects/erase", {"subject": subject})
            after = await _dump(admin, prefix)
            logs = run.logs.getvalue()
        secrets_ = (CHILD, PARENT, SIBLING, "canary.", code, code.replace("-", ""), nonce)
        assert any(":rrq" in k for k in during) and any(":gln:{" in k for k in during)
        assert any(":tcn:{" in k for k in during) and any(":apl" in k for k in during)
        assert [s for s in during + after if any(c in s for c in secrets_)] == [], "canary in Redis"
        assert [c for c in secrets_ if c in logs] == [], "canary in the logs"
        # The code and the nonce are answered to the app once, by design; the users' references never.
        assert [c for c in (CHILD, PARENT, SIBLING) if any(c in r.text for r in seen)] == []
        # Erasure leaves no record, request, appeal, guardian link or connection (what may stay:
        # revocation markers with their short TTL, single-use markers, app-wide indexes).
        assert not [k for k in after if k.startswith(f"{prefix}:gln:{{") or k.startswith(f"{prefix}:tcn:{{")]
        assert not [k for k in after if k.endswith((":rrq", ":apl", ":rec"))]
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()
