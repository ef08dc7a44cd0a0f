"""Canaries through the content flows: the app's content reference, its users' references and the
media hash reach no log line, stored value, key name, response or webhook; nothing names a
performer (audit events and webhooks carry the item and a place in it, never a sid)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from content_setup import fresh_token, performer, queued_events, webhook_settings
from factories import AUTH, running

pytestmark = pytest.mark.anyio

REFERENCE = "jane.doe+canary-1990-05-17@example.com/private-video.mp4"
SUBJECTS = ("canary-performer-jane@example.com", "canary-performer-john@example.com")
MEDIA_HEX = hashlib.sha256(b"canary media bytes").hexdigest()


async def test_no_canary_and_no_performer_sid_leaves_the_content_flows(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        a, b = [await performer(run, s) for s in SUBJECTS]
        bodies: list[str] = []
        r = await run.http.post(
            "/v1/content",
            json={"reference": REFERENCE, "content_hash": f"sha256:{MEDIA_HEX}", "recorded": "2025-06",
                  "depicted": [a.sid, b.sid], "uploader": a.sid, "jurisdiction": "default"},
            headers=AUTH,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        bodies.append(r.text)
        content_id = r.json()["content_id"]
        for who in (a, b):
            token = await fresh_token(run, who)
            body = {"token": token, "content_hash": f"sha256:{MEDIA_HEX}"}
            r = await run.http.post(f"/v1/content/{content_id}/consent", json=body, headers=AUTH)
            bodies.append(r.text)
        token = await fresh_token(run, b)
        r = await run.http.post(f"/v1/content/{content_id}/removal", json={"token": token}, headers=AUTH)
        bodies.append(r.text)
        bodies.append((await run.http.get(f"/v1/content/{content_id}", headers=AUTH)).text)
        bodies.append((await run.http.get("/v1/content/unpublishable", headers=AUTH)).text)
        await run.http.post("/v1/subjects/erase", json={"sid": a.sid}, headers=AUTH)

        logs = run.logs.getvalue()
        stored = repr(run.services.store.contents())
        queued = await queued_events(run)  # read once: the reader's group then holds them
        hooks = repr(queued)
        canaries = (REFERENCE, "jane.doe", "1990-05-17", MEDIA_HEX, *SUBJECTS)
        for canary in canaries:
            for where, text in (
                ("logs", logs),
                ("store", stored),
                ("responses", "".join(bodies)),
                ("webhooks", hooks),
            ):
                assert canary not in text, (canary, where)
        content_events = [e for e in run.log_lines() if str(e.get("event", "")).startswith("content.")]
        assert {e["event"] for e in content_events} >= {
            "content.registered", "content.consented", "content.removal_requested", "content.unpublishable",
        }  # fmt: skip
        for event in content_events:
            assert a.sid not in str(event) and b.sid not in str(event), event
        content_hooks = [e for e in queued if e["type"] == "content.unpublishable"]
        assert content_hooks and all(set(e["data"]) == {"content_id", "reasons"} for e in content_hooks)
