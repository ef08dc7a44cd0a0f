"""A revoked or erased subject's token stops deciding at once, cached or not, on every replica."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from factories import AUTH, Running, make_settings, running
from redis_server import delete_prefix, redis_url

from service.tokens.keys import generate_key, write_key

pytestmark = pytest.mark.anyio
PROFILE = {"jurisdiction": "default", "action": "profile.view"}


async def _teen_token(r: Running, subject: str) -> tuple[str, str]:
    """A 16-17 band a parent vouches for: other confirmed minors may reach it."""
    return await r.guardian_token(subject, 16, 17)


async def _single(r: Running, actor: dict[str, Any], target: dict[str, Any]) -> Any:
    body = {**PROFILE, "actor": actor, "target": target}
    return await r.http.post("/v1/decisions", json=body, headers=AUTH)


async def _batch(r: Running, actor: dict[str, Any], targets: list[dict[str, Any]]) -> Any:
    body = {**PROFILE, "actor": actor, "targets": targets, "reasons": True}
    return await r.http.post("/v1/decisions/batch", json=body, headers=AUTH)


def _rejections(r: Running) -> list[dict[str, Any]]:
    return [e for e in r.log_lines() if e.get("event") == "token.rejected"]


async def test_a_revoked_targets_cached_token_is_denied_as_invalid() -> None:
    async with running() as r:
        sid, teen = await _teen_token(r, "teen-r1")
        _, other = await _teen_token(r, "teen-r2")
        minor = {"band": "13_15", "level": "effective", "upper_level": "effective"}
        ok = await _single(r, minor, {"token": teen})
        assert ok.status_code == 200 and ok.json()["allowed"] is True, ok.text
        targets = [{"id": "a", "token": teen}, {"id": "b", "token": other}, {"id": "c", "token": teen}]
        assert (await _batch(r, minor, targets)).json()["allowed"] == ["a", "b", "c"]
        assert len(r.services.decisions.token_cache) == 2  # both tokens are cached now

        assert (await r.http.post("/v1/subjects/revoke", json={"sid": sid}, headers=AUTH)).status_code == 200
        single = await _single(r, minor, {"token": teen})
        assert single.status_code == 400
        assert single.json()["code"] == "invalid_party_token"
        out = (await _batch(r, minor, targets)).json()
        assert out["allowed"] == ["b"]
        assert out["denied"] == 2
        assert out["reasons"]["a"]["reason"] == out["reasons"]["c"]["reason"] == "invalid_token"
        assert out["reasons"]["b"]["reason"] == "allowed"
        # One audit event per revoked subject and request, naming the subject by its shreddable
        # audit reference only (never the sid).
        revoked = [e for e in _rejections(r) if e["reason"] == "revoked_or_erased"]
        ref = r.services.removal.subject_refs.ref(sid)
        assert [(e["sid_hash"], e["kind"]) for e in revoked] == [(ref, "target"), (ref, "target")]
        assert all("sid" not in e for e in revoked)

        # A token issued after the revocation (a new check, a second later) decides again.
        r.clock.advance(timedelta(seconds=1))
        _, fresh = await _teen_token(r, "teen-r1")
        again = await _single(r, minor, {"token": fresh})
        assert again.status_code == 200 and again.json()["allowed"] is True


async def test_an_erased_actors_cached_token_is_refused() -> None:
    async with running() as r:
        sid, adult = await r.adult_token("adult-r1", 1990)
        assert (await _single(r, {"token": adult}, {"band": "18_plus"})).json()["allowed"] is True
        assert (await r.http.post("/v1/subjects/erase", json={"sid": sid}, headers=AUTH)).status_code == 200
        single = await _single(r, {"token": adult}, {"band": "18_plus"})
        assert (single.status_code, single.json()["code"]) == (400, "invalid_party_token")
        batch = await _batch(r, {"token": adult}, [{"id": "x", "band": "18_plus"}])
        assert (batch.status_code, batch.json()["code"]) == (400, "invalid_party_token")
        assert single.json()["party"] == "actor"


@pytest.mark.redis
async def test_a_revocation_on_one_replica_is_seen_by_anothers_cache(tmp_path: Path) -> None:
    prefix = f"d{uuid.uuid4().hex[:12]}"
    write_key(generate_key("EdDSA"), tmp_path / "key.pem", "pem")
    settings = make_settings(
        store={"backend": "redis", "redis_url": redis_url(), "prefix": prefix},
        tokens={"keys": [{"path": tmp_path / "key.pem", "state": "active"}]},
    )
    admin = redis.asyncio.Redis.from_url(redis_url())
    try:
        async with running(settings) as a, running(settings) as b:
            sid, teen = await _teen_token(a, "teen-r3")
            confirmed = {"band": "16_17", "level": "effective", "upper_level": "effective"}
            assert (await _single(b, confirmed, {"token": teen})).json()["allowed"] is True
            assert len(b.services.decisions.token_cache) == 1
            revoke = await a.http.post("/v1/subjects/revoke", json={"sid": sid}, headers=AUTH)
            assert revoke.status_code == 200
            # Replica b never heard of the revocation; its cache still holds the token.
            assert len(b.services.decisions.token_cache) == 1
            assert (await _single(b, {"band": "16_17"}, {"token": teen})).status_code == 400
            out = (await _batch(b, {"band": "16_17"}, [{"id": "t", "token": teen}])).json()
            assert (out["allowed"], out["reasons"]["t"]["reason"]) == ([], "invalid_token")
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()
