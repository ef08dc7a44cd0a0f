"""``GET /metrics`` through the real app: what the flows report, and that no identifier leaks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from factories import AUTH, make_settings, running
from prometheus_client.parser import text_string_to_metric_families
from redis_server import free_port

pytestmark = pytest.mark.anyio


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(http: httpx.AsyncClient) -> tuple[str, dict[Any, float]]:
    r = await http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    return r.text, samples(r.text)


async def test_flows_report_checks_tokens_refresh_and_introspection() -> None:
    async with running() as run:
        subject = "canary-subject-7f3a"
        sid, token = await run.adult_token(subject)
        check = await run.start_check("someone-else")
        bad = await run.evidence(check["check_id"], {"method": "self_declaration", "birth_year": "x"})
        assert bad.status_code == 422
        assert (await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)).status_code == 200
        for tok in (token, "not-a-token"):
            r = await run.http.post("/v1/tokens/introspect", data={"token": tok}, headers=AUTH)
            assert r.status_code == 200

        text, found = await scrape(run.http)

    assert value(found, "ageband_checks_started_total", jurisdiction="default", purpose="signup") == 2
    passed = {"method": "self_declaration", "outcome": "passed"}
    assert value(found, "ageband_check_submissions_total", **passed) == 1
    assert value(found, "ageband_tokens_issued_total", band="18_plus") == 2  # check + refresh
    assert value(found, "ageband_token_refreshes_total", outcome="issued") == 1
    assert value(found, "ageband_token_introspections_total", active="true") == 1
    assert value(found, "ageband_token_introspections_total", active="false") == 1
    # Two provider calls were timed; unparseable evidence is the caller's fault, not a provider error.
    assert value(found, "ageband_provider_duration_seconds_count", provider="self_declaration") == 2
    assert not [k for k in found if k[0] == "ageband_provider_errors_total"]
    # Requests are labelled by route template; the check id, sid and subject never appear.
    route = "/v1/checks/{check_id}/evidence"
    assert value(found, "ageband_http_requests_total", method="POST", route=route, status="200") == 1
    for identifier in (subject, sid, check["check_id"], token):
        assert identifier not in text


async def test_policy_version_and_signing_key_are_read_at_scrape_time() -> None:
    async with running() as run:
        _, found = await scrape(run.http)
        svc = run.services
        version = svc.policy.current.version
        assert value(found, "ageband_policy_info", version=version) == 1
        assert value(found, "ageband_signing_key_info", kid=svc.keyring.signing_key.kid) == 1
        assert value(found, "ageband_build_info", version="0.1.0") == 1


@pytest.mark.redis
async def test_store_errors_are_counted_and_answered_with_503() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = make_settings(store={"backend": "redis", "redis_url": dead})
    async with running(settings) as run:
        r = await run.http.post(
            "/v1/checks", json={"subject": "user-1", "jurisdiction": "default"}, headers=AUTH
        )
        assert r.status_code == 503
        assert r.json()["code"] == "store_unavailable"
        assert r.headers["Retry-After"] == "5"
        ready = await run.http.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["Retry-After"] == "5"
        _, found = await scrape(run.http)
    assert value(found, "ageband_store_errors_total", backend="redis", error="ConnectionError") >= 1
