"""Trusted connections through the API: two users who confirmed each other may pass the rules the
policy marks relaxable, only with both proofs, only at or above the minimum band, and never across
the adult-minor line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from factories import AUTH, Running, make_settings, running, write_policy
from webhook_setup import FAST, drain, webhook_env

pytestmark = pytest.mark.anyio

PLAY_VERIFIED_ADULT = {
    "method": "os_signal",
    "source": "google_play",
    "user_status": "VERIFIED",
    "age_lower": 18,
}


async def _open(run: Running, token: str) -> Any:
    return await run.http.post(
        "/v1/connections", json={"jurisdiction": "default", "token": token}, headers=AUTH
    )


async def _confirm(run: Running, token: str, nonce: str) -> Any:
    body = {"jurisdiction": "default", "token": token, "nonce": nonce}
    return await run.http.post("/v1/connections/confirm", json=body, headers=AUTH)


async def _decide(
    run: Running, actor: dict[str, Any], target: dict[str, Any], nonce: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "jurisdiction": "default",
        "action": "message.send",
        "actor": actor,
        "target": target,
    }
    if nonce is not None:
        body["relationship"] = {"type": "trusted", "nonce": nonce}
    r = await run.http.post("/v1/decisions", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def _siblings(run: Running) -> tuple[str, str]:
    """An 11-year-old and a 16-year-old, both confirmed by a parent's OS account: two bands apart."""
    _, young = await run.guardian_token("young", lower=11, upper=12)
    _, older = await run.guardian_token("older", lower=16, upper=17)
    return young, older


async def test_trusted_connections_work_only_with_both_proofs() -> None:
    async with running() as run:
        young, older = await _siblings(run)
        apart = await _decide(run, {"token": older}, {"token": young})
        assert (apart["allowed"], apart["reason"], apart["relationship"]) == (
            False,
            "minor_bands_apart",
            None,
        )

        opened = await _open(run, older)
        assert opened.status_code == 201, opened.text
        nonce = opened.json()["nonce"]
        # One side's confirmation is not proof.
        half = await _decide(run, {"token": older}, {"token": young}, nonce)
        assert (half["allowed"], half["relationship"]) == (False, None)
        own = await _confirm(run, older, nonce)
        assert (own.status_code, own.json()["code"]) == (400, "invalid_connection")

        assert (await _confirm(run, young, nonce)).json() == {"confirmed": True}
        both = await _decide(run, {"token": older}, {"token": young}, nonce)
        assert (both["allowed"], both["relationship"]) == (True, "trusted"), both
        back = await _decide(run, {"token": young}, {"token": older}, nonce)
        assert (back["allowed"], back["relationship"]) == (True, "trusted")
        again = await _confirm(run, young, nonce)
        assert (again.status_code, again.json()["code"]) == (400, "invalid_connection")

        # Without the tokens there is no proof: bands alone never pass as trusted.
        bands = await _decide(
            run,
            {"band": "16_17", "level": "effective", "upper_level": "effective"},
            {"band": "under_13", "level": "effective", "upper_level": "effective"},
            nonce,
        )
        assert (bands["allowed"], bands["relationship"]) == (False, None)
        # A third user cannot ride on the pair's nonce.
        _, cousin = await run.guardian_token("cousin", lower=16, upper=17)
        stranger = await _decide(run, {"token": cousin}, {"token": young}, nonce)
        assert (stranger["allowed"], stranger["reason"], stranger["relationship"]) == (
            False, "minor_bands_apart", None,
        )  # fmt: skip
        # Rules that are not relaxable still hold between them: an unconfirmed band stays one.
        _, typed = await run.adult_token("typed-kid", birth_year=2015)
        t_nonce = (await _open(run, older)).json()["nonce"]
        await _confirm(run, typed, t_nonce)
        unconfirmed = await _decide(run, {"token": older}, {"token": typed}, t_nonce)
        assert (unconfirmed["allowed"], unconfirmed["reason"]) == (False, "minor_account_unconfirmed")
        events = [e for e in run.log_lines() if e.get("event") == "decision.made"]
        assert [e["relationship"] for e in events].count("trusted") == 3


async def test_a_trusted_connection_never_crosses_the_adult_minor_line(tmp_path: Path) -> None:
    # Even with the adults rule made relaxable, the bundled trusted section refuses the pair.
    rule = "        reason: minor_account_protected\n"
    policy = write_policy(tmp_path, replace={rule: "        relaxable: true\n" + rule})
    async with running(make_settings(policy_path=policy)) as run:
        _, teen = await run.guardian_token("teen", lower=16, upper=17)
        check = await run.start_check("uncle")
        r = await run.evidence(check["check_id"], PLAY_VERIFIED_ADULT)
        adult = r.json()["token"]["token"]
        nonce = (await _open(run, adult)).json()["nonce"]
        assert (await _confirm(run, teen, nonce)).status_code == 200
        d = await _decide(run, {"token": adult}, {"token": teen}, nonce)
        assert (d["allowed"], d["reason"], d["relationship"]) == (False, "minor_account_protected", None)


async def test_bad_tokens_and_nonces_get_precise_problems() -> None:
    async with running() as run:
        r = await _open(run, "eyJ.not.a-token")
        assert (r.status_code, r.json()["code"]) == (400, "invalid_party_token")
        _, token = await run.adult_token()
        r = await _confirm(run, token, "x" * 32)
        assert (r.status_code, r.json()["code"]) == (400, "invalid_connection")
        r = await _confirm(run, token, "short")
        assert (r.status_code, r.json()["code"]) == (422, "validation_failed")
        r = await run.http.post(
            "/v1/decisions",
            json={
                "jurisdiction": "default", "action": "message.send", "actor": {"token": token},
                "target": {"token": token}, "relationship": {"type": "friends", "nonce": "x" * 32},
            },
            headers=AUTH,
        )  # fmt: skip
        assert (r.status_code, r.json()["code"]) == (422, "validation_failed")


async def test_erasure_of_either_side_removes_the_connection() -> None:
    async with running() as run:
        store = run.services.store
        young, older = await _siblings(run)
        nonce = (await _open(run, older)).json()["nonce"]
        await _confirm(run, young, nonce)
        assert [k for k in store.contents() if ":tcn:{" in k]
        young_sid = (
            await run.http.post("/v1/tokens/introspect", json={"token": young}, headers=AUTH)
        ).json()["sub"]
        assert (
            await run.http.post("/v1/subjects/erase", json={"sid": young_sid}, headers=AUTH)
        ).status_code == 200
        assert not [k for k in store.contents() if ":tcn:{" in k]
        # Nor can the pair be decided as trusted any more.
        older_sid = (
            await run.http.post("/v1/tokens/introspect", json={"token": older}, headers=AUTH)
        ).json()["sub"]
        assert [k for k in store.contents() if older_sid in k and ":tcn" in k] == [
            f"ageband:sub:{{{older_sid}}}:tcn"
        ]


async def test_opening_and_confirming_are_sent_by_webhook(tmp_path: Path) -> None:
    async with webhook_env(tmp_path) as (settings, receiver, _), running(settings) as run:
        await run.services.store.events.ensure_group(FAST.group)
        young, older = await _siblings(run)
        nonce = (await _open(run, older)).json()["nonce"]
        await drain(run.services)
        older_sid = (
            await run.http.post("/v1/tokens/introspect", json={"token": older}, headers=AUTH)
        ).json()["sub"]
        (opened,) = receiver.wait_for(1, event_type="subject.connection_opened")
        assert opened["data"] == {"sid": older_sid}  # the opener only: the other user is not known yet
        assert receiver.events("subject.connection_confirmed") == []
        await _confirm(run, young, nonce)
        await drain(run.services)
        (event,) = receiver.wait_for(1, event_type="subject.connection_confirmed")
        young_sid = (
            await run.http.post("/v1/tokens/introspect", json={"token": young}, headers=AUTH)
        ).json()["sub"]
        assert event["data"] == {"sid": young_sid}
        assert receiver.rejected == 0
        (audited,) = [e for e in run.log_lines() if e.get("event") == "connection.opened"]
        assert audited["sid_hash"]
