"""age_credential through the API: presentation request, binding to the check, single use,
and successive validation with an OS signal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from credential_factory import Pki, mdoc_presentation, sd_jwt_presentation
from cryptography.hazmat.primitives.asymmetric import ec
from factories import AUTH, Running, default_waterfall_line, make_settings, running, write_policy
from status_list_server import INVALID, list_token, public_pem, status_list, status_list_server

from service.core.clock import FixedClock
from service.store.memory import MemoryStore

pytestmark = pytest.mark.anyio


BASIC_LEVELS = "required_level: {under_13: basic, 13_15: basic, 16_17: basic, 18_plus: basic}"
STRICT = "13_15: highly_effective, 16_17: highly_effective, 18_plus: highly_effective"


def settings(
    tmp_path: Path,
    pki: Pki,
    waterfall: str = "[age_credential, os_signal, self_declaration]",
    *,
    strict: bool = False,
    status: dict[str, Any] | None = None,
) -> Any:
    replace = {default_waterfall_line(): f"waterfall: {waterfall}"}
    if strict:
        # Every band but the youngest needs a verification: an OS signal alone steps up.
        replace[BASIC_LEVELS] = BASIC_LEVELS.replace("13_15: basic, 16_17: basic, 18_plus: basic", STRICT)
    policy = write_policy(tmp_path, replace=replace)
    return make_settings(
        policy_path=policy,
        providers={
            "enabled": ["os_signal", "self_declaration", "age_credential"],
            "instances": {"age_credential": {"config": pki.config(**({"status": status} if status else {}))}},
        },
    )


async def request(run: Running, check_id: str) -> dict[str, Any]:
    r = await run.http.get(f"/v1/checks/{check_id}/presentation/age_credential", headers=AUTH)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def present(run: Running, check_id: str, fmt: str, presentation: str) -> dict[str, Any]:
    r = await run.evidence(
        check_id, {"method": "age_credential", "format": fmt, "presentation": presentation}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def record_count(run: Running) -> int:
    store = run.services.store
    assert isinstance(store, MemoryStore)
    return sum(1 for key, _ in store.keys_with_expiry() if key.endswith(":rec"))


@pytest.fixture
def real_now() -> Any:
    # The reference issuers stamp the real time; the app's clock must agree.
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_mdoc_presentation_passes_the_check_at_its_level(
    tmp_path: Path, pki: Pki, real_now: Any
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        check = await run.start_check("wallet-user")
        req = await request(run, check["check_id"])
        assert req["client_id"] == pki.config()["audience"]
        assert set(req["formats"]) == {"mso_mdoc", "dc+sd-jwt"}
        body = await present(
            run, check["check_id"], "mso_mdoc", mdoc_presentation(pki, {"age_over_18": True}, req["nonce"])
        )
        assert body["outcome"] == "passed", body
        assert (body["token"]["band"], body["token"]["level"]) == ("18_plus", "highly_effective")
        record = await run.services.store.records.get_record(check["sid"])
        assert record is not None and record.method == "age_credential"


async def test_nonce_is_per_check(tmp_path: Path, pki: Pki, real_now: Any) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        a, b = await run.start_check("user-a"), await run.start_check("user-b")
        nonce_a = (await request(run, a["check_id"]))["nonce"]
        assert nonce_a != (await request(run, b["check_id"]))["nonce"]
        assert nonce_a == (await request(run, a["check_id"]))["nonce"]
        # A presentation made for check A fails in check B: nothing is stored for B's subject.
        body = await present(
            run, b["check_id"], "dc+sd-jwt", sd_jwt_presentation(pki, {"age_over_18": True}, nonce_a)
        )
        assert (body["outcome"], body["reason"]) == ("failed", "binding_mismatch")
        assert await run.services.store.records.get_record(b["sid"]) is None


async def test_replayed_presentation_counts_once(tmp_path: Path, pki: Pki, real_now: Any) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        check = await run.start_check("replayer")
        nonce = (await request(run, check["check_id"]))["nonce"]
        # Over 16 straddles 16_17 and 18_plus: inconclusive, so the check stays open.
        presentation = sd_jwt_presentation(pki, {"age_over_16": True}, nonce)
        first = await present(run, check["check_id"], "dc+sd-jwt", presentation)
        assert first["outcome"] == "inconclusive", first
        second = await present(run, check["check_id"], "dc+sd-jwt", presentation)
        assert (second["outcome"], second["reason"]) == ("failed", "presentation_replayed")
        assert await run.services.store.records.get_record(check["sid"]) is None


async def test_os_signal_then_credential_intersect(tmp_path: Path, pki: Pki, real_now: Any) -> None:
    waterfall = "[os_signal, age_credential, self_declaration]"
    async with running(settings(tmp_path, pki, waterfall, strict=True), at=real_now) as run:
        check = await run.start_check("two-signals")
        os_body = {"method": "os_signal", "source": "google_play", "user_status": "DECLARED", "age_lower": 16}
        r = await run.evidence(check["check_id"], os_body)
        assert r.json()["outcome"] == "inconclusive", r.text
        nonce = (await request(run, check["check_id"]))["nonce"]
        body = await present(
            run, check["check_id"], "dc+sd-jwt", sd_jwt_presentation(pki, {"age_over_21": True}, nonce)
        )
        assert body["outcome"] == "passed", body
        assert (body["token"]["band"], body["token"]["level"]) == ("18_plus", "highly_effective")


async def test_contradiction_gives_inconsistent_signals_and_no_adult_token(
    tmp_path: Path, pki: Pki, real_now: Any
) -> None:
    waterfall = "[os_signal, age_credential, self_declaration]"
    async with running(settings(tmp_path, pki, waterfall, strict=True), at=real_now) as run:
        check = await run.start_check("contradicts")
        # The OS says 13-15 (a guardian's declaration); the policy steps up to a credential.
        os_body = {"method": "os_signal", "source": "apple", "declaration": "guardian_declared",
                   "lower_bound": 13, "upper_bound": 15}  # fmt: skip
        r = await run.evidence(check["check_id"], os_body)
        assert r.status_code == 200, r.text
        assert (r.json()["outcome"], r.json()["reason"]) == ("inconclusive", "insufficient_level")
        nonce = (await request(run, check["check_id"]))["nonce"]
        body = await present(
            run, check["check_id"], "mso_mdoc", mdoc_presentation(pki, {"age_over_18": True}, nonce)
        )
        assert (body["outcome"], body["reason"], body["token"]) == ("failed", "inconsistent_signals", None)
        assert await run.services.store.records.get_record(check["sid"]) is None
        flagged = [e for e in run.log_lines() if e.get("event") == "subject.flagged"]
        assert flagged and flagged[-1]["reason"] == "inconsistent_signals"


async def test_presentation_request_needs_the_callers_pending_check(
    tmp_path: Path, pki: Pki, real_now: Any
) -> None:
    async with running(settings(tmp_path, pki), at=real_now) as run:
        check = await run.start_check("someone")
        r = await run.http.get(f"/v1/checks/{check['check_id']}/presentation/age_credential")
        assert r.status_code == 401
        r = await run.http.get(f"/v1/checks/{check['check_id']}/presentation/os_signal", headers=AUTH)
        assert (r.status_code, r.json()["code"]) == (400, "unknown_method")
        r = await run.http.get("/v1/checks/chk_zzzzzz_nope/presentation/age_credential", headers=AUTH)
        assert r.status_code == 404


def test_clock_fixture_is_real_time(real_now: Any) -> None:
    assert FixedClock(real_now).now() == real_now


async def test_revoked_credential_is_refused_and_not_held_against_the_subject(
    tmp_path: Path, pki: Pki, real_now: Any
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with status_list_server() as server:
        uri = server.uri("/lists/1")
        t = int(real_now.timestamp())
        server.serve("/lists/1", list_token(status_list(1, {5: INVALID}), uri, key, iat=t, ttl=300))
        status = {"allowed_uris": [uri], "signing_keys": [public_pem(key)], "allow_insecure_loopback": True}
        async with running(settings(tmp_path, pki, status=status), at=real_now) as run:
            for idx, outcome in ((5, "failed"), (6, "passed")):
                check = await run.start_check(f"holder-{idx}")
                nonce = (await request(run, check["check_id"]))["nonce"]
                ref = {"status_list": {"idx": idx, "uri": uri}}
                body = await present(
                    run, check["check_id"], "dc+sd-jwt",
                    sd_jwt_presentation(pki, {"age_over_18": True}, nonce, status=ref),
                )  # fmt: skip
                assert body["outcome"] == outcome, body
            assert body["token"]["band"] == "18_plus"
            revoked = [e for e in run.log_lines() if e.get("event") == "check.attempt_failed"]
            assert [e["reason"] for e in revoked] == ["credential_revoked"]
            # Revocation is the issuer's word on a genuine credential, not a circumvention attempt.
            events = {e.get("event") for e in run.log_lines()}
            assert not events & {"subject.flagged", "subject.revoked"}
            assert server.hits["/lists/1"] == 1  # one fetch for both checks: cached for its ttl
