"""An item is publishable only when everyone in it was an adult at the recording month, is assured
at the policy's depicted level, and consented; every reason is given per person."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from content_setup import (
    MEDIA,
    consent,
    performer,
    queued_events,
    reasons,
    register,
    status,
    webhook_settings,
)
from factories import AUTH, running

pytestmark = pytest.mark.anyio


async def test_two_performers_publishable_only_when_both_assured_adult_and_consented(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        a = await performer(run, "performer-a")
        b = await performer(run, "performer-b")
        item = await register(run, a, b)
        assert item["publishable"] is False
        assert reasons(item) == [["consent_missing"], ["consent_missing"]]
        after_a = await consent(run, item["content_id"], a)
        assert after_a["publishable"] is False and reasons(after_a) == [[], ["consent_missing"]]
        both = await consent(run, item["content_id"], b)
        assert both["publishable"] is True and reasons(both) == [[], []]
        assert both["publishable_until"] == (run.clock.now().date() + timedelta(days=366)).isoformat()
        assert (await status(run, item["content_id"]))["publishable"] is True

        # Revoking one of them makes it unpublishable and sends the webhook, naming no one.
        r = await run.http.post("/v1/subjects/revoke", json={"sid": b.sid}, headers=AUTH)
        assert r.status_code == 200, r.text
        now = await status(run, item["content_id"])
        assert now["publishable"] is False and reasons(now) == [[], ["revoked"]]
        hooks = [e for e in await queued_events(run) if e["type"] == "content.unpublishable"]
        assert [e["data"] for e in hooks] == [{"content_id": item["content_id"], "reasons": ["revoked"]}]


async def test_someone_under_18_at_the_recording_month_stops_it(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        today = run.clock.now().date()  # 2026-03-10
        a = await performer(run, "adult-now", lower_age=18)  # 18 today: 17 a year ago
        b = await performer(run, "older", lower_age=25)
        item = await register(run, a, b, recorded="2025-06")
        for who in (a, b):
            await consent(run, item["content_id"], who)
        body = await status(run, item["content_id"])
        assert reasons(body) == [["under_18_at_recording"], []] and body["publishable"] is False
        # The same person in an item recorded this month: the month's first day is before the day
        # they were assured at 18, so the aged-back edge is 17 (the younger age counts).
        same_month = await register(run, a, b, recorded=f"{today:%Y-%m}", reference="video-2")
        for who in (a, b):
            await consent(run, same_month["content_id"], who)
        assert reasons(await status(run, same_month["content_id"])) == [["under_18_at_recording"], []]


async def test_an_edge_just_old_enough_at_the_recording_month_passes(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        # At least 20 on 2026-03-10, so at least 18 on 2024-03-10 and on 2024-04-01.
        a = await performer(run, "twenty", lower_age=20)
        item = await register(run, a, recorded="2024-04")
        assert reasons(await consent(run, item["content_id"], a)) == [[]]
        older = await register(run, a, recorded="2024-03", reference="video-2")
        # 2024-03-01 is before 2024-03-10: two years and a bit back, so the edge is 17.
        assert reasons(await consent(run, older["content_id"], a)) == [["under_18_at_recording"]]


@pytest.mark.parametrize(
    ("level", "method"),
    [
        ("effective", "age_credential"),  # below depicted.required_level
        ("basic", "self_declaration"),
        ("highly_effective", "facial_estimation"),  # estimation never suffices, whatever its level
        ("highly_effective", "os_signal"),
    ],
)
async def test_level_too_low_or_a_method_that_never_suffices(tmp_path: Path, level: str, method: str) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        a = await performer(run, "performer-a", level=level, method=method)
        item = await register(run, a)
        body = await consent(run, item["content_id"], a)
        assert reasons(body) == [["level_too_low"]] and body["publishable"] is False


async def test_a_self_declared_adult_from_a_real_check_is_level_too_low() -> None:
    async with running() as run:
        sid, _ = await run.adult_token("declared")
        r = await run.http.post(
            "/v1/content",
            json={"reference": "v", "content_hash": MEDIA, "recorded": "2025-01", "depicted": [sid],
                  "uploader": sid, "jurisdiction": "default"},
            headers=AUTH,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        assert reasons(r.json()) == [["consent_missing", "level_too_low"]]


async def test_a_minor_depicted_is_refused_by_the_policy_rule(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        minor = await performer(run, "minor", band="16_17", lower_age=None)
        item = await register(run, minor, uploader=await performer(run, "uploader"))
        body = await consent(run, item["content_id"], minor)
        assert reasons(body)[0] == ["under_18_at_recording"]


async def test_an_uploader_who_is_not_depicted_must_be_assured_too(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        a = await performer(run, "performer-a")
        up = await performer(run, "uploader", level="effective")
        item = await register(run, a, uploader=up)
        assert [p["role"] for p in item["people"]] == ["depicted", "uploader"]
        body = await consent(run, item["content_id"], a)
        assert reasons(body) == [[], ["level_too_low"]] and body["publishable"] is False


async def test_a_recheck_overdue_makes_it_unpublishable_and_lists_it(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        a = await performer(run, "performer-a", recheck_in=timedelta(days=10))
        item = await register(run, a)
        assert (await consent(run, item["content_id"], a))["publishable"] is True
        listed = await run.http.get("/v1/content/unpublishable", headers=AUTH)
        assert listed.json() == {"items": [], "next_cursor": None}
        run.clock.advance(timedelta(days=11))
        assert reasons(await status(run, item["content_id"])) == [["recheck_overdue"]]
        listed = await run.http.get("/v1/content/unpublishable", headers=AUTH)
        lapse = (date(2026, 3, 10) + timedelta(days=11)).isoformat()
        assert listed.json() == {
            "items": [{"content_id": item["content_id"], "since": lapse}],
            "next_cursor": None,
        }


async def test_a_passing_recheck_reaches_the_items(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        a = await performer(run, "performer-a", recheck_in=timedelta(days=10))
        item = await register(run, a)
        await consent(run, item["content_id"], a)
        run.clock.advance(timedelta(days=11))
        assert reasons(await status(run, item["content_id"])) == [["recheck_overdue"]]
        # A new check passes (here: a self-declaration, which never suffices for content).
        check = await run.start_check("performer-a")
        r = await run.evidence(check["check_id"], {"method": "self_declaration", "birth_year": 1990})
        assert r.status_code == 200 and r.json()["outcome"] == "passed", r.text
        assert reasons(await status(run, item["content_id"])) == [["level_too_low"]]
