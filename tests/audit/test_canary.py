"""Canary test: personal values sent through every flow appear nowhere we keep or send.

Canaries: an e-mail address as the subject reference, a birth date, a birth year, and
image-like bytes (a base64 JPEG header). After every flow has run (success and error
paths) on the Redis store, none of them may appear in the logs, in any Redis key or value
(the whole database is scanned), in any response body or header, or in any token.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio
from factories import ADMIN, AUTH, Running, make_settings, running
from redis_server import delete_prefix, redis_url

EMAIL = "canary.person+7731@example.org"
BIRTH_DATE = "1987-04-17"
BIRTH_YEAR = 1987
IMAGE = base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00canary-image-bytes").decode()
SUBSTRINGS = (EMAIL, BIRTH_DATE, IMAGE, IMAGE[:16], "canary-image-bytes", "canary.person")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    """Keeps every response so that bodies, headers and tokens can be searched afterwards."""

    def __init__(self, run: Running) -> None:
        self.run = run
        self.responses: list[httpx.Response] = []

    async def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", AUTH)
        r = await self.run.http.request(method, url, **kwargs)
        assert r.status_code < 500, r.text
        self.responses.append(r)
        return r


async def _every_flow(rec: Recorder) -> None:
    r = await rec.call("POST", "/v1/checks", json={"subject": EMAIL, "jurisdiction": "default"})
    check, sid = r.json()["check_id"], r.json()["sid"]
    evidence = f"/v1/checks/{check}/evidence"
    # Error paths first: unknown fields, wrong types, bad values, unknown method.
    await rec.call("POST", evidence, json={"method": "self_declaration", "birth_date": BIRTH_DATE})
    await rec.call("POST", evidence, json={"method": "self_declaration", "birth_year": BIRTH_DATE})
    await rec.call("POST", evidence, json={"method": "os_signal", "source": "apple", "image": IMAGE})
    await rec.call("POST", evidence, json={"method": IMAGE})
    await rec.call("POST", "/v1/checks", json={"subject": EMAIL, "jurisdiction": BIRTH_DATE})
    await rec.call(
        "POST", "/v1/checks", json={"subject": EMAIL, "jurisdiction": "default", "dob": BIRTH_DATE}
    )
    await rec.call("POST", "/v1/tokens/refresh", json={"subject": EMAIL})  # before any record: 404
    # A new check (the first has spent attempts) and the happy path.
    r = await rec.call("POST", "/v1/checks", json={"subject": EMAIL, "jurisdiction": "default"})
    check = r.json()["check_id"]
    r = await rec.call(
        "POST", f"/v1/checks/{check}/evidence", json={"method": "self_declaration", "birth_year": BIRTH_YEAR}
    )
    assert r.json()["outcome"] == "passed"
    token = r.json()["token"]["token"]
    await rec.call("GET", f"/v1/checks/{check}")
    await rec.call("POST", "/v1/tokens/refresh", json={"subject": EMAIL})
    await rec.call("POST", "/v1/tokens/refresh", json={"sid": sid})
    await rec.call("POST", "/v1/tokens/introspect", data={"token": token})
    await rec.call("GET", "/v1/rechecks/due", params={"before": "2030-01-01"})
    await rec.call("GET", "/.well-known/jwks.json")
    await rec.call("POST", "/v1/subjects/revoke", json={"subject": EMAIL})
    await rec.call("POST", "/v1/tokens/introspect", data={"token": token})
    # Re-check and erase.
    r = await rec.call("POST", "/v1/checks", json={"subject": EMAIL, "jurisdiction": "default"})
    await rec.call(
        "POST",
        f"/v1/checks/{r.json()['check_id']}/evidence",
        json={"method": "os_signal", "source": "google_play", "user_status": "VERIFIED", "age_lower": 18},
    )
    await rec.call("POST", "/v1/subjects/erase", json={"subject": EMAIL})
    await rec.call("POST", "/v1/admin/clock", json={"advance": BIRTH_DATE}, headers=ADMIN)


def _tokens_in(texts: list[str]) -> list[dict[str, Any]]:
    payloads = []
    for text in texts:
        for word in text.replace('"', " ").split():
            parts = word.split(".")
            if len(parts) == 3 and parts[0].startswith("eyJ"):
                raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
                payloads.append(json.loads(raw))
    return payloads


def _leaks(text: str) -> list[str]:
    return [c for c in SUBSTRINGS if c in text]


def _has_value(obj: Any, value: object) -> bool:
    if isinstance(obj, dict):
        return any(_has_value(v, value) for v in obj.values())
    if isinstance(obj, list):
        return any(_has_value(v, value) for v in obj)
    return obj == value or obj == str(value)


async def _dump_redis(client: redis.asyncio.Redis) -> list[str]:
    """Every key and value in the database, whatever its type."""
    out: list[str] = []
    async for key in client.scan_iter(count=500):
        out.append(key.decode())
        kind = (await client.type(key)).decode()
        if kind == "string":
            out.append((await client.get(key) or b"").decode())
        elif kind == "zset":
            out.extend(m.decode() for m in await client.zrange(key, 0, -1))
        elif kind == "hash":
            out.extend(f"{k.decode()}={v.decode()}" for k, v in (await client.hgetall(key)).items())
        elif kind in ("list",):
            out.extend(v.decode() for v in await client.lrange(key, 0, -1))
        elif kind == "set":
            out.extend(v.decode() for v in await client.smembers(key))
        else:
            out.append(f"<unscanned type {kind}>")
    return out


@pytest.mark.anyio
@pytest.mark.redis
async def test_canaries_reach_no_log_key_value_response_or_token() -> None:
    url = redis_url()
    prefix = f"canary{uuid.uuid4().hex[:8]}"
    settings = make_settings(store={"backend": "redis", "redis_url": url, "prefix": prefix}, dev_clock=True)
    admin = redis.asyncio.Redis.from_url(url)
    try:
        async with running(settings) as run:
            rec = Recorder(run)
            await _every_flow(rec)
            stored = await _dump_redis(admin)
            logs = run.logs.getvalue()
        assert any(prefix in k for k in stored), "the flows wrote nothing to Redis: the scan proves nothing"
        responses = [r.text for r in rec.responses] + [str(dict(r.headers)) for r in rec.responses]
        tokens = _tokens_in(responses)
        assert tokens, "no token was issued: the token check proves nothing"
        assert len(rec.responses) >= 20

        assert _leaks(logs) == [], "canary in logs"
        assert [s for s in stored if _leaks(s)] == [], "canary in Redis"
        assert [r for r in responses if _leaks(r)] == [], "canary in a response"
        assert [t for t in tokens if _leaks(json.dumps(t))] == [], "canary in a token"
        # The birth year is a plain number: look for it as a value, not as a substring.
        log_events = [json.loads(line) for line in logs.splitlines()]
        assert not any(_has_value(e, BIRTH_YEAR) for e in log_events), "birth year in logs"
        assert not any(_has_value(t, BIRTH_YEAR) for t in tokens), "birth year in a token"
        bodies = [r.json() for r in rec.responses if r.headers.get("content-type", "").endswith("json")]
        assert not any(_has_value(b, BIRTH_YEAR) for b in bodies), "birth year in a response"
        stored_json = [json.loads(s) for s in stored if s.startswith("{")]
        assert not any(_has_value(s, BIRTH_YEAR) for s in stored_json), "birth year in Redis"
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()
