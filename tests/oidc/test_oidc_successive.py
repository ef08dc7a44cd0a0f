"""Successive validation with an eID login: an OS signal first, then the OIDC birth date, in one
check. Agreeing signals intersect; contradicting ones fail the check as ``inconsistent_signals``,
flag the subject and never give a token for the older band."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import AUTH
from hostile_env import Env, authorize, back, callback, hostile_env, idp_config, start
from hostile_idp import HostileIdp, hostile_idp

pytestmark = pytest.mark.anyio

WATERFALL = ["os_signal", "bank", "self_declaration"]


def born(years: int) -> str:
    """A birth date that makes someone ``years`` old today, 40 days after a birthday."""
    ref = datetime.now(UTC).date() - timedelta(days=40)
    return date(ref.year - years, ref.month, min(ref.day, 28)).isoformat()


@pytest.fixture
def idp() -> Iterator[HostileIdp]:
    with hostile_idp() as server:
        yield server


async def os_first(env: Env, subject: str, signal: dict[str, Any]) -> dict[str, Any]:
    """Start a check and submit the OS signal; the strict policy steps up to the eID login."""
    check = await env.run.start_check(subject)
    r = await env.run.evidence(check["check_id"], {"method": "os_signal", **signal})
    assert r.status_code == 200, r.text
    assert (r.json()["outcome"], r.json()["reason"]) == ("inconclusive", "insufficient_level")
    return check


async def then_oidc(env: Env, check: dict[str, Any]) -> dict[str, str]:
    r = await start(env.run, check["check_id"])
    assert r.status_code == 303, r.text
    return back(await callback(env.run, await authorize(r.headers["location"])))


SUPERVISED_16_17 = {"source": "google_play", "user_status": "SUPERVISED", "age_lower": 16, "age_upper": 17}
VERIFIED_ADULT = {"source": "google_play", "user_status": "VERIFIED", "age_lower": 18}
GUARDIAN_13_15 = {"source": "apple", "declaration": "guardian_declared", "lower_bound": 13, "upper_bound": 15}


async def test_os_signal_then_oidc_birthdate_intersect_and_pass(tmp_path: Path, idp: HostileIdp) -> None:
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank")}, WATERFALL) as env:
        check = await os_first(env, "sixteen-seventeen", SUPERVISED_16_17)
        idp.user = {"birthdate": born(17)}
        assert await then_oidc(env, check) == {"check_id": check["check_id"], "outcome": "passed"}
        state = await env.run.services.store.checks.get_check(check["check_id"])
        assert state is not None
        # [16, 17] from the OS and [17, 17] from the birth date: both kept, intersected.
        assert [(n.lo, n.hi, n.level) for n in state.signals] == [
            (16, 17, "effective"), (17, 17, "highly_effective"),
        ]  # fmt: skip
        assert (state.interval_lo, state.interval_hi) == (17, 17)
        record = await env.run.services.store.records.get_record(check["sid"])
        assert record is not None
        assert (record.band, record.level, record.method) == ("16_17", "highly_effective", "eid_oidc")
        assert record.age_up_at is not None and record.age_up_at.day == 1  # month-rounded, no birthday
        r = await env.run.http.post("/v1/tokens/refresh", json={"sid": check["sid"]}, headers=AUTH)
        assert r.status_code == 200, r.text
        assert (r.json()["band"], r.json()["level"]) == ("16_17", "highly_effective")


async def test_os_adult_then_oidc_adult_pass_at_the_oidc_level(tmp_path: Path, idp: HostileIdp) -> None:
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank")}, WATERFALL) as env:
        check = await os_first(env, "adult", VERIFIED_ADULT)
        idp.user = {"birthdate": born(35)}
        assert (await then_oidc(env, check))["outcome"] == "passed"
        state = await env.run.services.store.checks.get_check(check["check_id"])
        assert state is not None and (state.interval_lo, state.interval_hi) == (35, 35)
        record = await env.run.services.store.records.get_record(check["sid"])
        assert record is not None and (record.band, record.level) == ("18_plus", "highly_effective")


@pytest.mark.parametrize(
    ("os_signal", "age"),
    [
        pytest.param(GUARDIAN_13_15, 35, id="os_says_13_15_idp_says_adult"),
        pytest.param(VERIFIED_ADULT, 14, id="os_says_adult_idp_says_14"),
    ],
)
async def test_contradiction_is_inconsistent_signals_flagged_and_tokenless(
    tmp_path: Path, idp: HostileIdp, os_signal: dict[str, Any], age: int
) -> None:
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank")}, WATERFALL) as env:
        check = await os_first(env, "contradicts", os_signal)
        idp.user = {"birthdate": born(age)}
        assert await then_oidc(env, check) == {
            "check_id": check["check_id"], "outcome": "failed", "reason": "inconsistent_signals",
        }  # fmt: skip
        state = await env.run.services.store.checks.get_check(check["check_id"])
        assert state is not None and (state.status.value, state.reason) == ("failed", "inconsistent_signals")
        # No record, so no token: not for the older band, not for any band.
        assert await env.run.services.store.records.get_record(check["sid"]) is None
        r = await env.run.http.post("/v1/tokens/refresh", json={"sid": check["sid"]}, headers=AUTH)
        assert r.status_code != 200 and "token" not in r.json()
        # A circumvention signal: the subject is flagged and the policy's sanction is in force.
        flagged = [e for e in env.run.log_lines() if e.get("event") == "subject.flagged"]
        assert [e.get("reason") for e in flagged] == ["inconsistent_signals"]
        sanction = await env.run.services.store.sanctions.get_sanction(check["sid"])
        assert sanction is not None and sanction.signal == "inconsistent_signals"
        # The birth date reached no log line and no stored value.
        assert born(age) not in env.run.logs.getvalue()
        assert not any(born(age).encode() in v for v in (await env.snapshot()).values())
