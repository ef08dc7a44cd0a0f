"""What reaches a person's items: revocation, erasure, a sanction, a failed check, their own
withdrawal or removal request. Each makes the item unpublishable, lists it, and tells the app."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from content_setup import (
    MEDIA,
    OTHER_MEDIA,
    Performer,
    consent,
    fresh_token,
    performer,
    queued_events,
    reasons,
    register,
    status,
    webhook_settings,
)
from factories import AUTH, Running, running

pytestmark = pytest.mark.anyio


async def publishable_pair(run: Running) -> tuple[dict[str, Any], Performer, Performer]:
    a = await performer(run, "performer-a")
    b = await performer(run, "performer-b")
    item = await register(run, a, b)
    await consent(run, item["content_id"], a)
    assert (await consent(run, item["content_id"], b))["publishable"] is True
    return item, a, b


async def unpublishable_hooks(run: Running) -> list[dict[str, Any]]:
    return [e["data"] for e in await queued_events(run) if e["type"] == "content.unpublishable"]


def audit(run: Running, event: str) -> list[dict[str, Any]]:
    return [e for e in run.log_lines() if e.get("event") == event]


async def test_erasure_takes_the_sid_out_of_every_item(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        item, _, b = await publishable_pair(run)
        r = await run.http.post("/v1/subjects/erase", json={"sid": b.sid}, headers=AUTH)
        assert r.status_code == 200, r.text
        assert reasons(await status(run, item["content_id"])) == [[], ["erased"]]
        assert await unpublishable_hooks(run) == [{"content_id": item["content_id"], "reasons": ["erased"]}]
        stored = run.services.store.contents()
        holding = sorted(k for k, v in stored.items() if b.sid in k or b.sid in str(v))
        # Only the revocation marker, which must name the sid to void issued tokens (a timestamp).
        assert holding == [f"ageband:sub:{{{b.sid}}}:rev"]


async def test_a_sanction_reaches_the_items(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        item, a, _ = await publishable_pair(run)
        # The assured adult now claims a minor band: adult_claims_minor, with its sanction.
        check = await run.start_check(a.subject)
        r = await run.evidence(check["check_id"], {"method": "self_declaration", "birth_year": 2011})
        assert r.status_code == 200 and r.json()["sanction"] == "adult_claims_minor", r.text
        assert reasons(await status(run, item["content_id"])) == [["sanctioned"], []]
        # The pass that brought the sanction on wrote a minor band first: the app heard of it once,
        # with what that pass showed (the sanction then found the item already taken down).
        hooks = await unpublishable_hooks(run)
        expected = {"content_id": item["content_id"], "reasons": ["level_too_low", "under_18_at_recording"]}
        assert hooks == [expected]


async def test_a_failed_check_reaches_the_items(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        item, a, _ = await publishable_pair(run)
        # A confirming check contradicts the adult band on record: it fails.
        check = await run.start_check(a.subject, purpose="confirm")
        guardian = {"method": "os_signal", "source": "apple", "declaration": "guardian_declared"}
        r = await run.evidence(check["check_id"], {**guardian, "lower_bound": 13, "upper_bound": 15})
        assert (r.json()["outcome"], r.json()["reason"]) == ("failed", "inconsistent_signals"), r.text
        assert reasons(await status(run, item["content_id"])) == [["recheck_failed"], []]


async def test_withdrawal_and_a_new_consent(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        item, a, _ = await publishable_pair(run)
        token = await fresh_token(run, a)
        r = await run.http.post(
            f"/v1/content/{item['content_id']}/withdraw", json={"token": token}, headers=AUTH
        )
        assert r.status_code == 200, r.text
        assert reasons(r.json()) == [["consent_withdrawn"], []] and r.json()["publishable"] is False
        assert [e["person"] for e in audit(run, "content.consent_withdrawn")] == [0]
        # Consenting again, with a new fresh token, clears the flag.
        assert (await consent(run, item["content_id"], a))["publishable"] is True


async def test_a_removal_request_is_audited_and_sent_even_before_publication(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        a = await performer(run, "performer-a")
        b = await performer(run, "performer-b")
        item = await register(run, a, b)  # nobody consented yet: not publishable
        token = await fresh_token(run, b)
        r = await run.http.post(
            f"/v1/content/{item['content_id']}/removal", json={"token": token}, headers=AUTH
        )
        assert r.status_code == 200, r.text
        assert reasons(r.json()) == [["consent_missing"], ["removal_requested"]]
        events = audit(run, "content.removal_requested")
        assert [(e["content_id"], e["person"], e["role"]) for e in events] == [
            (item["content_id"], 1, "depicted")
        ]
        assert all(b.sid not in str(e) for e in events)
        hooks = await unpublishable_hooks(run)
        assert hooks == [
            {"content_id": item["content_id"], "reasons": ["consent_missing", "removal_requested"]}
        ]


async def test_the_unpublishable_list_pages_through_items_taken_down(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        a = await performer(run, "performer-a")
        ids = []
        for n in range(5):
            item = await register(run, a, reference=f"video-{n}")
            await consent(run, item["content_id"], a)
            ids.append(item["content_id"])
        listed = await run.http.get("/v1/content/unpublishable", headers=AUTH)
        assert listed.json()["items"] == []
        await run.http.post("/v1/subjects/revoke", json={"sid": a.sid}, headers=AUTH)
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await run.http.get("/v1/content/unpublishable", params=params, headers=AUTH)).json()
            seen += [e["content_id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(ids)


async def test_consent_needs_the_persons_own_fresh_unused_token_for_this_media(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        a = await performer(run, "performer-a")
        bystander = await performer(run, "bystander")
        item = await register(run, a)
        url = f"/v1/content/{item['content_id']}/consent"

        async def answer(token: str, media: str = MEDIA) -> tuple[int, str]:
            r = await run.http.post(url, json={"token": token, "content_hash": media}, headers=AUTH)
            return r.status_code, r.json().get("code", "")

        assert await answer(await fresh_token(run, bystander)) == (403, "not_depicted")
        assert await answer(await fresh_token(run, a), OTHER_MEDIA) == (409, "content_hash_mismatch")
        stale = await fresh_token(run, a)
        run.clock.advance(timedelta(minutes=3))
        assert await answer(stale) == (401, "consent_token_stale")
        token = await fresh_token(run, a)
        assert await answer(token) == (200, "")
        assert await answer(token) == (409, "consent_token_used")
        assert await answer(token[:-2] + "AA") == (401, "invalid_consent_token")
        # A revoked person's token no longer consents, even before it expires.
        token = await fresh_token(run, a)
        await run.http.post("/v1/subjects/revoke", json={"sid": a.sid}, headers=AUTH)
        assert await answer(token) == (401, "invalid_consent_token")


async def test_another_client_cannot_see_or_touch_an_item(tmp_path: Path) -> None:
    from factories import OTHER_CLIENT_KEY, bearer, two_clients_settings

    async with running(two_clients_settings(tmp_path)) as run:
        a = await performer(run, "performer-a")
        item = await register(run, a)
        other = bearer(OTHER_CLIENT_KEY)
        r = await run.http.get(f"/v1/content/{item['content_id']}", headers=other)
        assert (r.status_code, r.json()["code"]) == (404, "unknown_content")
        r = await run.http.post(
            "/v1/content",
            json={"reference": "x", "content_hash": MEDIA, "recorded": "2025-01", "depicted": [a.sid],
                  "uploader": a.sid, "jurisdiction": "default"},
            headers=other,
        )  # fmt: skip
        assert (r.status_code, r.json()["code"], r.json()["index"]) == (404, "unknown_performer", 0)


@pytest.mark.parametrize("content_id", ["cnt_{x}", "x" * 64, "cnt_" + "A" * 43 + " ", "../../etc"])
async def test_hostile_content_ids_are_unknown(content_id: str) -> None:
    async with running() as run:
        r = await run.http.get(f"/v1/content/{content_id}", headers=AUTH)
        assert r.status_code in (404, 422) and r.headers["content-type"] == "application/problem+json"
