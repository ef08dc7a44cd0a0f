"""A vendor outage is not the user's failure: it costs no attempt and changes nothing in the check,
while the data-minimisation log still shows the evidence arriving and being dropped."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from estimation_context import estimation_settings
from estimation_vendor import Vendor, face_b64
from factories import AUTH, Running, running

ATTEMPTS_PER_CHECK = 5  # policies/default.yaml, jurisdiction "default"


async def _check(app: Running) -> str:
    started = await app.start_check("outage-user")
    return str(started["check_id"])


async def _view(app: Running, check_id: str) -> dict[str, Any]:
    r = await app.http.get(f"/v1/checks/{check_id}", headers=AUTH)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _events(app: Running, check_id: str) -> list[str]:
    return [e["event"] for e in app.log_lines() if e.get("check_id") == check_id]


@pytest.mark.anyio
async def test_outages_beyond_the_attempt_limit_cost_nothing_then_one_real_attempt_counts(
    vendor: Vendor,
) -> None:
    outages = ATTEMPTS_PER_CHECK + 1  # had any of them counted, the last would be attempts_exhausted
    scenario = f"flaky/{outages}/{uuid.uuid4().hex}"
    config = vendor.config(scenario, retries=0, failure_threshold=50)
    async with running(estimation_settings("http_estimation", config)) as app:
        check_id = await _check(app)
        before = await _view(app, check_id)
        assert before["attempts_left"] == ATTEMPTS_PER_CHECK
        for _ in range(outages):
            r = await app.evidence(check_id, {"method": "facial_estimation", "image": face_b64(35, 2)})
            assert r.status_code == 503 and r.json()["code"] == "provider_unavailable", r.text
            assert await _view(app, check_id) == before  # nothing about the check changed

        r = await app.evidence(check_id, {"method": "facial_estimation", "image": face_b64(35, 2)})
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] == "passed"
        assert (await _view(app, check_id))["attempts_left"] == ATTEMPTS_PER_CHECK - 1

        events = _events(app, check_id)
        assert events.count("evidence.received") == events.count("evidence.discarded") == outages + 1
        assert events.count("check.attempt_released") == outages
        released = [e for e in app.log_lines() if e["event"] == "check.attempt_released"]
        assert {e["reason"] for e in released} == {"provider_unavailable"}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("scenario", "extra", "status", "code"),
    [
        ("status/500", {}, 503, "provider_unavailable"),
        ("malformed", {}, 502, "provider_bad_response"),
        ("huge", {}, 502, "provider_bad_response"),
        ("slow/1", {"timeout_seconds": 0.2}, 503, "provider_unavailable"),
    ],
    ids=["5xx", "malformed", "oversize", "timeout"],
)
async def test_each_kind_of_vendor_failure_leaves_the_check_as_it_was(
    vendor: Vendor, scenario: str, extra: dict[str, Any], status: int, code: str
) -> None:
    config = vendor.config(scenario, retries=0, failure_threshold=50, **extra)
    async with running(estimation_settings("http_estimation", config)) as app:
        check_id = await _check(app)
        before = await _view(app, check_id)
        for _ in range(2):
            r = await app.evidence(check_id, {"method": "facial_estimation", "image": face_b64(35, 2)})
            assert r.status_code == status and r.json()["code"] == code, r.text
        after = await _view(app, check_id)
        assert after == before
        assert after["status"] == "pending" and after["methods_tried"] == []
        events = _events(app, check_id)
        assert events.count("evidence.received") == events.count("evidence.discarded") == 2
        assert events.count("check.attempt_released") == 2
        # The check can still be finished by another method, with every attempt intact.
        body = {"method": "self_declaration", "birth_year": 1990}
        r = await app.evidence(check_id, body)
        assert r.status_code == 200 and r.json()["outcome"] == "passed", r.text
        assert (await _view(app, check_id))["attempts_left"] == ATTEMPTS_PER_CHECK - 1
