"""Canaries through the check page on the Redis store: a subject's page (a child's result, the
guardian code, an appeal) and an anonymous gate. The user's reference, the page link's token,
the page cookie, the guardian code and the anonymous check's token appear in no key name, value
or log line; every page key has a TTL; erasure leaves none of the subject's page keys."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis.asyncio
from factories import AUTH, running
from page_client import open_page
from page_setup import RETURN, page_settings
from redis_server import delete_prefix, redis_url
from test_page_reviews import CODE, post

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

CHILD = "canary.page-child+7731@example.org"
PAGE_KINDS = ("pgl", "pgs", "pgi")


async def _dump(client: redis.asyncio.Redis, prefix: str) -> dict[str, str]:
    """Every string key under the prefix and its value (the page keys are all strings)."""
    out: dict[str, str] = {}
    async for raw in client.scan_iter(match=f"{prefix}:*", count=500):
        key = raw.decode()
        kind = (await client.type(key)).decode()
        out[key] = (await client.get(key) or b"").decode() if kind == "string" else kind
    return out


def _page_keys(keys: dict[str, str], prefix: str) -> list[str]:
    return [k for k in keys if any(k.startswith(f"{prefix}:{kind}:") for kind in PAGE_KINDS)]


async def test_page_flows_on_redis_leave_no_canary_and_erasure_removes_the_subjects_pages(
    tmp_path: Path,
) -> None:
    url, prefix = redis_url(), f"pgc{uuid.uuid4().hex[:8]}"
    admin = redis.asyncio.Redis.from_url(url)
    try:
        settings = page_settings(tmp_path, store={"backend": "redis", "redis_url": url, "prefix": prefix})
        async with running(settings) as run:
            child = await open_page(run, subject=CHILD)
            await child.declare("2015")  # under 13, self-declared: a guardian may confirm
            shown = await post(child, "/guardian-code")
            code = CODE.search(shown.text)
            assert code is not None, shown.text
            assert (await post(child, "/appeal")).status_code == 303  # the session names a second check
            link = await run.http.post(
                "/v1/checks",
                json={"subject": CHILD, "jurisdiction": "default", "return_url": RETURN},
                headers=AUTH,
            )
            link_token = urlsplit(link.json()["check_url"]).path.rsplit("/", 1)[-1]
            gate = await open_page(run, subject=None)
            await gate.declare("1984")
            read = await run.http.get(f"/v1/checks/{gate.check_id}", headers=AUTH)
            anonymous_token = read.json()["token"]["token"]
            during = await _dump(admin, prefix)
            ttls = {k: await admin.ttl(k) for k in _page_keys(during, prefix)}
            erased = await run.http.post("/v1/subjects/erase", json={"subject": CHILD}, headers=AUTH)
            assert erased.json() == {"erased": True, "found": True}
            after = await _dump(admin, prefix)
            logs = run.logs.getvalue()
        session = child.path.rsplit("/", 1)[-1]
        secrets_ = (CHILD, "canary.", code.group(1), link_token, session, child.cookie, anonymous_token)
        # long enough that a match is never by chance
        assert all(len(s) >= 10 for s in secrets_ if s != "canary."), [len(s) for s in secrets_]
        assert {k.split(":")[1] for k in _page_keys(during, prefix)} == set(PAGE_KINDS)
        assert ttls and all(t > 0 for t in ttls.values()), ttls
        stored = [*during, *during.values(), *after, *after.values()]
        assert any(child.check_id in s for s in stored)  # the dump reads what the page keys hold
        assert [s for s in stored if any(c in s for c in secrets_)] == [], "canary in Redis"
        assert [c for c in secrets_ if c in logs] == [], "canary in the logs"
        # The child's pages are gone; the anonymous gate's keys (no subject) only wait for their TTL.
        left = _page_keys(after, prefix)
        assert not [k for k in left if any(c in after[k] for c in (child.check_id, child.sid))]
        # Of the subject, only its short-lived revocation marker stays (tokens it was given die).
        named = [k for k in after if child.sid in k]
        assert named == [f"{prefix}:sub:{{{child.sid}}}:rev"], named
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()
