"""eid_oidc driven over HTTP against a real OpenID Connect provider on loopback:
start (ageband) → authorize (the identity provider) → callback (ageband) → back to the app."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from factories import AUTH, Running, default_waterfall_line, make_settings, running, write_policy
from oidc_servers import closed_port, silent_server

from service.app import DEMO_ADMIN_KEY, DEMO_CLIENT_KEY
from service.clients.registry import hash_key
from service.store.memory import MemoryStore

pytestmark = pytest.mark.anyio

RETURN = "https://app.example/age-check/done"
STRICT = "required_level: {under_13: basic, 13_15: basic, 16_17: basic, 18_plus: highly_effective}"


def idp_config(issuer: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "client_id": "ageband-test",
        "client_secret": "s3cret",
        "redirect_uri": f"http://localhost/v1/oidc/{name}/callback",
        "scopes": ["openid", "profile"],
        "age_over_claims": {"age_over_18": 18},
        "allow_insecure_loopback": True,
        # Generous: a loaded CI machine must not turn a healthy provider into a 503.
        "timeout_seconds": 5.0,
        **extra,
    }


def settings(tmp_path: Path, idps: dict[str, dict[str, Any]]) -> Any:
    names = list(idps)
    methods = "".join(f"  {n}:\n    class: eid_oidc\n    level: highly_effective\n" for n in names)
    policy = write_policy(
        tmp_path,
        replace={
            default_waterfall_line(): f"waterfall: [{', '.join(names)}, self_declaration]",
            "required_level: {under_13: basic, 13_15: basic, 16_17: basic, 18_plus: basic}": STRICT,
            "\nmethods:\n": "\nmethods:\n" + methods,
        },
    )
    clients = tmp_path / "clients.yaml"
    clients.write_text(
        json.dumps(
            {
                "clients": [{"id": "demo", "api_keys": [hash_key(DEMO_CLIENT_KEY)], "return_urls": [RETURN]}],
                "admins": [{"id": "ops", "api_keys": [hash_key(DEMO_ADMIN_KEY)]}],
            }
        )
    )
    return make_settings(
        policy_path=policy,
        clients_file=clients,
        providers={
            "enabled": ["self_declaration", *names],
            "instances": {n: {"type": "eid_oidc", "config": cfg} for n, cfg in idps.items()},
        },
    )


@asynccontextmanager
async def app(tmp_path: Path, idps: dict[str, dict[str, Any]]) -> AsyncIterator[Running]:
    # The identity provider stamps real times into its ID tokens; the app's clock must agree.
    async with running(settings(tmp_path, idps), at=datetime.now(UTC)) as run:
        yield run


async def start(run: Running, check_id: str, idp: str = "bank", return_url: str = RETURN) -> httpx.Response:
    return await run.http.get(
        f"/v1/checks/{check_id}/oidc/{idp}/start", params={"return_url": return_url}, headers=AUTH
    )


async def authorize(location: str, sub: str) -> str:
    """Log in at the identity provider as ``sub``; returns the callback URL it redirects to."""
    async with httpx.AsyncClient() as browser:
        r = await browser.post(location, data={"sub": sub})
    assert r.status_code == 302, r.text
    return r.headers["location"]


async def callback(run: Running, url: str, **replace: str) -> httpx.Response:
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    params.update(replace)
    return await run.http.get(parts.path, params=params)


async def login(
    run: Running, sub: str, idp: str = "bank", subject: str = "user"
) -> tuple[dict[str, Any], str]:
    check = await run.start_check(subject)
    r = await start(run, check["check_id"], idp)
    assert r.status_code == 303, r.text
    return check, await authorize(r.headers["location"], sub)


def back(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith(RETURN + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def store_keys(run: Running) -> list[str]:
    store = run.services.store
    assert isinstance(store, MemoryStore)
    return [k for k, _ in store.keys_with_expiry()]


def new_key_classes(before: list[str], run: Running) -> set[str]:
    """Keys added since ``before``, with prefix and hash tags dropped (``once:{}``)."""
    return {re.sub(r"\{[^}]*\}", "{}", k.split(":", 1)[1]) for k in set(store_keys(run)) - set(before)}


async def assert_no_signal(run: Running, check: dict[str, Any]) -> None:
    """A refused callback leaves no signal, interval or record: only its spent attempt."""
    state = await run.services.store.checks.get_check(check["check_id"])
    assert state is not None and state.status.value == "pending"
    assert (state.signals, state.interval_lo, state.interval_hi) == ([], None, None)
    assert await run.services.store.records.get_record(check["sid"]) is None


# What a refused callback may add: the state's single-use marker, the attempt it spent (check and
# abuse counters) and, for a circumvention reason, the sanction and revocation marker.
REFUSAL_KEYS = {
    "once:{}", "chk:{}:attempts", "abz:{}:attempts", "abz:{}:failures", "abs:{}:shopping",
    "sub:{}:snc", "sub:{}:rev",
}  # fmt: skip


# --- the whole flow ------------------------------------------------------------------------------


async def test_adult_birthdate_passes_at_the_idps_level(tmp_path: Path, idp: str) -> None:
    async with app(tmp_path, {"bank": idp_config(idp, "bank")}) as run:
        check = await run.start_check("alice")
        keys_before_start = store_keys(run)
        r = await start(run, check["check_id"])
        assert r.status_code == 303 and r.headers["cache-control"] == "no-store"
        location = r.headers["location"]
        query = parse_qs(urlsplit(location).query)
        assert location.startswith(idp + "/oauth2/authorize?")
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
        assert query["redirect_uri"] == ["http://localhost/v1/oidc/bank/callback"]
        assert query["nonce"][0] and query["state"][0] and query["scope"] == ["openid profile"]
        assert store_keys(run) == keys_before_start  # start stores nothing

        result = back(await callback(run, await authorize(location, "adult")))
        assert result == {"check_id": check["check_id"], "outcome": "passed"}
        record = await run.services.store.records.get_record(check["sid"])
        assert record is not None
        assert (record.band, record.level, record.method) == ("18_plus", "highly_effective", "eid_oidc")
        assert record.age_up_at is None  # adults have no next band
        view = (await run.http.get(f"/v1/checks/{check['check_id']}", headers=AUTH)).json()
        assert view["status"] == "passed"
        # The birth date appears nowhere: not in logs, not in the store.
        store = run.services.store
        assert isinstance(store, MemoryStore)
        dump = run.logs.getvalue() + repr(store.contents())
        assert "1990-05-17" not in dump and "19900517" not in dump


async def test_minor_birthdate_keeps_only_a_month_rounded_age_up_date(tmp_path: Path, idp: str) -> None:
    async with app(tmp_path, {"bank": idp_config(idp, "bank")}) as run:
        check, url = await login(run, "teen", subject="teen")
        assert back(await callback(run, url))["outcome"] == "passed"
        record = await run.services.store.records.get_record(check["sid"])
        assert record is not None and record.band == "13_15"
        assert record.age_up_at == date(2027, 3, 1)  # 16 on 2027-02-10, rounded up to the month


async def test_age_over_claim_mapping(tmp_path: Path, idp: str) -> None:
    cfg = idp_config(idp, "bank", birthdate_claim=None)
    async with app(tmp_path, {"bank": cfg}) as run:
        check, url = await login(run, "over18-only")
        assert back(await callback(run, url))["outcome"] == "passed"
        record = await run.services.store.records.get_record(check["sid"])
        assert record is not None and record.band == "18_plus"


async def test_no_age_claim_fails_without_a_record(tmp_path: Path, idp: str) -> None:
    async with app(tmp_path, {"bank": idp_config(idp, "bank")}) as run:
        check, url = await login(run, "no-age")
        assert back(await callback(run, url)) == {
            "check_id": check["check_id"], "outcome": "failed", "reason": "age_claim_missing",
        }  # fmt: skip
        assert await run.services.store.records.get_record(check["sid"]) is None


# --- start -----------------------------------------------------------------------------------------


async def test_return_url_must_be_on_the_clients_allowlist(tmp_path: Path, idp: str) -> None:
    async with app(tmp_path, {"bank": idp_config(idp, "bank")}) as run:
        check = await run.start_check("x")
        for url in ("https://evil.example/steal", RETURN + "/more", RETURN + "?x=1"):
            r = await start(run, check["check_id"], return_url=url)
            assert (r.status_code, r.json()["code"]) == (400, "return_url_not_allowed")
            assert "evil" not in r.text


async def test_start_needs_the_clients_api_key_and_a_redirect_method(tmp_path: Path, idp: str) -> None:
    async with app(tmp_path, {"bank": idp_config(idp, "bank")}) as run:
        check = await run.start_check("x")
        r = await run.http.get(
            f"/v1/checks/{check['check_id']}/oidc/bank/start", params={"return_url": RETURN}
        )
        assert r.status_code == 401
        r = await start(run, check["check_id"], "self_declaration")
        assert (r.status_code, r.json()["code"]) == (404, "unknown_provider")
        assert r.json()["known"] == ["bank"]


async def test_posted_evidence_for_a_redirect_method_is_refused(tmp_path: Path, idp: str) -> None:
    async with app(tmp_path, {"bank": idp_config(idp, "bank")}) as run:
        check = await run.start_check("x")
        r = await run.evidence(check["check_id"], {"method": "bank", "id_token": "eyJ.forged.token"})
        assert r.status_code == 422


# --- negative callbacks: each refused, nothing stored for the subject ------------------------------


async def test_wrong_or_missing_state_is_refused(tmp_path: Path, idp: str) -> None:
    async with app(tmp_path, {"bank": idp_config(idp, "bank")}) as run:
        check, url = await login(run, "adult")
        before, check_before = store_keys(run), await run.services.store.checks.get_check(check["check_id"])
        for state in ("", "not-a-state", "A" * 200):
            r = await callback(run, url, state=state)
            assert (r.status_code, r.json()["code"]) == (400, "invalid_state")
        assert await run.services.store.records.get_record(check["sid"]) is None
        assert store_keys(run) == before  # nothing at all, not even a single-use marker
        assert await run.services.store.checks.get_check(check["check_id"]) == check_before


async def test_replayed_callback_is_refused(tmp_path: Path, idp: str) -> None:
    async with app(tmp_path, {"bank": idp_config(idp, "bank")}) as run:
        check, url = await login(run, "teen")
        assert back(await callback(run, url))["outcome"] == "passed"
        before, check_before = store_keys(run), await run.services.store.checks.get_check(check["check_id"])
        record_before = await run.services.store.records.get_record(check["sid"])
        r = await callback(run, url)
        assert (r.status_code, r.json()["code"]) == (409, "state_used")
        assert store_keys(run) == before
        assert await run.services.store.checks.get_check(check["check_id"]) == check_before
        assert await run.services.store.records.get_record(check["sid"]) == record_before


async def test_callback_code_from_another_check_fails_its_nonce(tmp_path: Path, idp: str) -> None:
    async with app(tmp_path, {"bank": idp_config(idp, "bank")}) as run:
        _, url_a = await login(run, "adult", subject="a")
        check_b, url_b = await login(run, "teen", subject="b")
        # B's state (bound to B's check, nonce and verifier) with A's code.
        code_a = parse_qs(urlsplit(url_a).query)["code"][0]
        before = store_keys(run)
        result = back(await callback(run, url_b, code=code_a))
        assert (result["check_id"], result["outcome"], result["reason"]) == (
            check_b["check_id"], "failed", "nonce_mismatch",
        )  # fmt: skip
        await assert_no_signal(run, check_b)
        assert new_key_classes(before, run) <= REFUSAL_KEYS


async def test_state_for_one_idp_fails_at_anothers_callback(tmp_path: Path, idp: str, other_idp: str) -> None:
    idps = {"bank": idp_config(idp, "bank"), "eid": idp_config(other_idp, "eid")}
    async with app(tmp_path, idps) as run:
        check, url = await login(run, "adult", "bank")
        parts = urlsplit(url)
        before, check_before = store_keys(run), await run.services.store.checks.get_check(check["check_id"])
        r = await run.http.get("/v1/oidc/eid/callback", params=parse_qs(parts.query))
        assert (r.status_code, r.json()["code"]) == (400, "invalid_state")
        assert await run.services.store.records.get_record(check["sid"]) is None
        assert store_keys(run) == before
        assert await run.services.store.checks.get_check(check["check_id"]) == check_before


async def test_iss_parameter_of_another_idp_is_a_mix_up(tmp_path: Path, idp: str, other_idp: str) -> None:
    idps = {"bank": idp_config(idp, "bank"), "eid": idp_config(other_idp, "eid")}
    async with app(tmp_path, idps) as run:
        check, url = await login(run, "adult", "bank")
        before = store_keys(run)
        result = back(await callback(run, url, iss=other_idp))
        assert (result["outcome"], result["reason"]) == ("failed", "issuer_mismatch")
        await assert_no_signal(run, check)
        assert new_key_classes(before, run) <= REFUSAL_KEYS


# --- an identity provider that is down or slow ---------------------------------------------------


async def test_idp_down_is_503_within_the_timeout(tmp_path: Path) -> None:
    async with app(tmp_path, {"bank": idp_config(closed_port(), "bank", timeout_seconds=1.0)}) as run:
        check = await run.start_check("x")
        before = store_keys(run)
        t0 = time.monotonic()
        r = await start(run, check["check_id"])
        assert (r.status_code, r.json()["code"]) == (503, "identity_provider_unavailable")
        assert r.headers["Retry-After"] == "5"  # the SDKs wait this long before trying again
        assert time.monotonic() - t0 < 1.0 + 1.0  # refused at once; a second's margin for load
        assert store_keys(run) == before


async def test_idp_slow_is_503_within_the_timeout(tmp_path: Path) -> None:
    with silent_server() as slow:
        async with app(tmp_path, {"bank": idp_config(slow, "bank", timeout_seconds=0.5)}) as run:
            check = await run.start_check("x")
            before = store_keys(run)
            t0 = time.monotonic()
            r = await start(run, check["check_id"])
            elapsed = time.monotonic() - t0
            assert (r.status_code, r.json()["code"]) == (503, "identity_provider_unavailable")
            assert 0.45 < elapsed < 0.5 + 1.5  # the timeout, plus a margin for a loaded machine
            assert await run.services.store.records.get_record(check["sid"]) is None
            assert store_keys(run) == before
