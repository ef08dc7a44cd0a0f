"""Parties given as age-band tokens: verified once, cached by token hash until exp."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from factories import AUTH, OTHER_CLIENT_KEY, bearer, running, two_clients_settings

from service.flows.decision_batch import VERIFY_SLICE
from service.flows.token_cache import TokenCache, VerifiedParty

pytestmark = pytest.mark.anyio


async def test_actor_and_target_tokens_decide_like_their_bands() -> None:
    async with running() as r:
        _, adult = await r.adult_token("adult-1", 1990)
        check = await r.start_check("teen-1")
        resp = await r.evidence(check["check_id"], {"method": "self_declaration", "band": "13_15"})
        teen = resp.json()["token"]["token"]
        body = {"jurisdiction": "default", "action": "profile.view"}
        d = await r.http.post(
            "/v1/decisions", json={**body, "actor": {"token": adult}, "target": {"token": teen}}, headers=AUTH
        )
        assert d.status_code == 200, d.text
        assert (d.json()["allowed"], d.json()["reason"]) == (False, "minor_account_protected")
        cache = r.services.decisions.token_cache
        assert len(cache) == 2
        assert cache.misses == 2
        # The cache is keyed by the token's SHA-256; the token itself is not kept.
        assert hashlib.sha256(adult.encode()).digest() in cache._entries
        batch = {
            **body,
            "actor": {"token": adult},
            "targets": [
                {"id": "t", "token": teen},
                {"id": "a", "token": adult},
                {"id": "bad", "token": "x.y.z"},
            ],
            "reasons": True,
        }
        out = (await r.http.post("/v1/decisions/batch", json=batch, headers=AUTH)).json()
        assert out["allowed"] == ["a"]
        assert out["reasons"]["bad"]["reason"] == "invalid_token"
        assert cache.hits >= 3


async def test_invalid_actor_token_is_a_400_and_not_echoed() -> None:
    async with running() as r:
        body = {
            "jurisdiction": "default",
            "action": "profile.view",
            "actor": {"token": "canary.canary.canary"},
        }
        resp = await r.http.post("/v1/decisions", json=body, headers=AUTH)
        assert resp.status_code == 400
        assert resp.json()["code"] == "invalid_party_token"
        assert "canary" not in resp.text
        assert "canary" not in r.logs.getvalue()


async def test_token_and_band_together_are_rejected() -> None:
    async with running() as r:
        body = {
            "jurisdiction": "default",
            "action": "profile.view",
            "actor": {"token": "a.b.c", "band": "18_plus"},
        }
        assert (await r.http.post("/v1/decisions", json=body, headers=AUTH)).status_code == 422
        batch = {
            "jurisdiction": "default", "action": "profile.view", "actor": {"band": "18_plus"},
            "targets": [{"id": "x", "token": "a.b.c", "band": "18_plus"}],
        }  # fmt: skip
        assert (await r.http.post("/v1/decisions/batch", json=batch, headers=AUTH)).status_code == 422


async def test_cached_token_expires_with_the_token_and_keeps_its_audience(tmp_path: Path) -> None:
    async with running(two_clients_settings(tmp_path)) as r:
        _, adult = await r.adult_token("adult-2", 1990)
        body = {"jurisdiction": "default", "action": "profile.view", "actor": {"token": adult}, "target": {}}
        assert (await r.http.post("/v1/decisions", json=body, headers=AUTH)).status_code == 200
        # Another client presenting the same (cached) token is refused: aud is checked on hits too.
        other = await r.http.post("/v1/decisions", json=body, headers=bearer(OTHER_CLIENT_KEY))
        assert other.status_code == 400
        r.clock.advance(timedelta(minutes=6))  # past exp (5 min) and the verifier's 30 s leeway
        late = await r.http.post("/v1/decisions", json=body, headers=AUTH)
        assert late.status_code == 400
        assert len(r.services.decisions.token_cache) == 0


def test_cache_is_bounded() -> None:
    cache = TokenCache(max_entries=10)
    for i in range(25):
        cache._put(bytes([i]), VerifiedParty("18_plus", "basic", "demo", 10_000, "sid", 0), now=0)
        assert len(cache) <= 10


async def test_a_batch_of_new_tokens_lets_other_requests_run_while_it_verifies() -> None:
    """Each new token costs a signature check: the batch pauses every VERIFY_SLICE of them."""
    async with running() as r:
        n = 6 * VERIFY_SLICE  # six slices: no single gap should come near the whole request
        tokens = [
            r.services.tokens.issuing.signer.issue(
                client_id="demo", sid=f"s{i:042d}", band="18_plus", level="basic", method="self_declaration",
                jurisdiction="default", policy_version="v", recheck_at=1_800_000_000,
            )[0]
            for i in range(n)
        ]  # fmt: skip
        body = {
            "jurisdiction": "default", "action": "profile.view", "actor": {"band": "18_plus"},
            "targets": [{"id": str(i), "token": t} for i, t in enumerate(tokens)],
        }  # fmt: skip
        # The ticker notes how many signatures the batch had checked each time it got the loop.
        seen: list[int] = []

        async def ticker() -> None:
            while True:
                seen.append(r.services.decisions.token_cache.misses)
                await asyncio.sleep(0)

        beat = asyncio.create_task(ticker())
        await asyncio.sleep(0)  # the ticker's first turn, before the batch starts
        resp = await r.http.post("/v1/decisions/batch", json=body, headers=AUTH)
        beat.cancel()
        assert resp.status_code == 200 and len(resp.json()["allowed"]) == n
        assert r.services.decisions.token_cache.misses == n
        # Counted, not timed: between two turns of the ticker the batch checked at most one
        # slice, so it gave the loop back at least once per slice.
        during = [m for m in seen if m > 0]
        steps = [b - a for a, b in zip([0, *during], [*during, n], strict=True)]
        assert max(steps) <= VERIFY_SLICE, steps
        assert len({m for m in during if m < n}) >= n // VERIFY_SLICE - 1, during
