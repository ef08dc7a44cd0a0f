"""eid_oidc against providers that follow OpenID Connect Core §5.4: scope claims only at UserInfo.

Two real servers on loopback: ``oidc-provider-mock`` run as a strictly conforming provider (its
ID tokens carry no user claims; tests/oidc/mock_idp_main.py says how), and HostileIdp in its
conforming mode, which also honours the ``claims`` request parameter (§5.5) and can answer
UserInfo badly on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile_env import back, callback, hostile_env, idp_config, login
from hostile_idp import HostileIdp, hostile_idp
from oidc_servers import mock_idp
from test_oidc_flow import app, authorize, start
from test_oidc_flow import idp_config as mock_config
from test_oidc_hostile import SANCTIONED, SPENT, assert_untouched_but_for_the_marker

from service.store.memory import MemoryStore

pytestmark = pytest.mark.anyio

USERS = [
    {"sub": "adult", "claims": {"birthdate": "1990-05-17"}},
    {"sub": "teen", "claims": {"birthdate": "2011-02-10"}},
]


@pytest.fixture(scope="module")
def conforming_mock() -> Iterator[str]:
    with mock_idp(USERS, claims_at_userinfo_only=True) as issuer:
        yield issuer


@pytest.fixture
def idp() -> Iterator[HostileIdp]:
    with hostile_idp(claims_at_userinfo_only=True) as server:
        yield server


# --- the real provider in its conforming mode ---------------------------------------------------


async def test_birthdate_only_at_userinfo_completes_the_check(tmp_path: Path, conforming_mock: str) -> None:
    async with app(tmp_path, {"bank": mock_config(conforming_mock, "bank")}) as run:
        check = await run.start_check("alice")
        r = await start(run, check["check_id"])
        result = back(await callback(run, await authorize(r.headers["location"], "teen")))
        assert result == {"check_id": check["check_id"], "outcome": "passed"}
        record = await run.services.store.records.get_record(check["sid"])
        assert record is not None and (record.band, record.method) == ("13_15", "eid_oidc")
        store = run.services.store
        assert isinstance(store, MemoryStore)
        dump = run.logs.getvalue() + repr(store.contents())
        assert "2011-02-10" not in dump  # read at UserInfo, still never kept


async def test_without_userinfo_the_conforming_provider_gives_no_age(
    tmp_path: Path, conforming_mock: str
) -> None:
    # The control: its ID token really holds no birth date, so the check needs UserInfo.
    async with app(tmp_path, {"bank": mock_config(conforming_mock, "bank", userinfo=False)}) as run:
        check = await run.start_check("bob")
        r = await start(run, check["check_id"])
        result = back(await callback(run, await authorize(r.headers["location"], "adult")))
        assert (result["outcome"], result["reason"]) == ("failed", "age_claim_missing")


# --- HostileIdp, conforming --------------------------------------------------------------------


async def test_userinfo_is_read_with_the_exchanges_access_token(tmp_path: Path, idp: HostileIdp) -> None:
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank", birthdate_claim="birthdate")}) as env:
        check, url = await login(env.run, "conforming")
        assert back(await callback(env.run, url)) == {"check_id": check["check_id"], "outcome": "passed"}
        assert idp.hits["userinfo"] == 1


async def test_claims_in_the_id_token_need_no_userinfo(tmp_path: Path, idp: HostileIdp) -> None:
    idp.claims_at_userinfo_only = False
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank", birthdate_claim="birthdate")}) as env:
        _, url = await login(env.run, "classic")
        assert back(await callback(env.run, url))["outcome"] == "passed"
        assert idp.hits["userinfo"] == 0


@pytest.mark.parametrize("where", ["id_token", "userinfo"])
async def test_claims_request_parameter_asks_for_the_mapped_claims(
    tmp_path: Path, idp: HostileIdp, where: str
) -> None:
    cfg = idp_config(idp, "bank", birthdate_claim="birthdate", claims_request=where)
    async with hostile_env(tmp_path, {"bank": cfg}) as env:
        _, url = await login(env.run, "asks")
        sent = json.loads(idp.authorize_queries[-1]["claims"])
        essential = {"essential": True}
        assert sent == {where: {"birthdate": essential, "age_over_18": essential}}
        assert back(await callback(env.run, url))["outcome"] == "passed"
        # Asked for in the ID token, the conforming provider puts it there: no UserInfo call.
        assert idp.hits["userinfo"] == (0 if where == "id_token" else 1)


async def test_signed_userinfo_is_verified_and_used(tmp_path: Path, idp: HostileIdp) -> None:
    idp.userinfo_format = "jwt"
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank", birthdate_claim="birthdate")}) as env:
        _, url = await login(env.run, "signed")
        assert back(await callback(env.run, url))["outcome"] == "passed"


USERINFO_CASES: dict[str, tuple[dict[str, Any], str, bool]] = {
    "another_subject": ({"userinfo_sub": "pairwise-someone-else"}, "userinfo_subject_mismatch", True),
    "no_subject": ({"userinfo_format": "json_without_sub"}, "userinfo_invalid", False),
    "signed_by_another_key": ({"userinfo_format": "jwt_bad_signature"}, "userinfo_invalid", False),
    "signed_for_another_client": ({"userinfo_format": "jwt_other_audience"}, "userinfo_invalid", False),
    "encrypted": ({"userinfo_format": "jwe"}, "userinfo_invalid", False),
    "not_json": ({"userinfo_format": "text"}, "userinfo_invalid", False),
    "unauthorized": ({"userinfo_status": 401}, "userinfo_invalid", False),
}


@pytest.mark.parametrize("case", USERINFO_CASES)
async def test_hostile_userinfo_is_refused_with_no_partial_state(
    tmp_path: Path, idp: HostileIdp, case: str
) -> None:
    settings, reason, circumvention = USERINFO_CASES[case]
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank", birthdate_claim="birthdate")}) as env:
        check, url = await login(env.run, "target")
        for name, value in settings.items():
            setattr(idp, name, value)
        before = await env.snapshot()
        result = back(await callback(env.run, url))
        assert result == {"check_id": check["check_id"], "outcome": "failed", "reason": reason}
        assert await env.changes(before) == (SANCTIONED if circumvention else SPENT)
        assert await env.run.services.store.records.get_record(check["sid"]) is None


async def test_userinfo_server_error_is_a_503_that_spends_nothing(tmp_path: Path, idp: HostileIdp) -> None:
    idp.userinfo_status = 502
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank", birthdate_claim="birthdate")}) as env:
        check, url = await login(env.run, "outage")
        before = await env.snapshot()
        r = await callback(env.run, url)
        assert (r.status_code, r.json()["code"]) == (503, "identity_provider_unavailable")
        await assert_untouched_but_for_the_marker(env, check, before)  # no attempt spent


async def test_no_userinfo_endpoint_leaves_the_age_missing(tmp_path: Path, idp: HostileIdp) -> None:
    idp.advertise_userinfo = False
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank", birthdate_claim="birthdate")}) as env:
        _, url = await login(env.run, "nowhere")
        result = back(await callback(env.run, url))
        assert (result["outcome"], result["reason"]) == ("failed", "age_claim_missing")
        assert idp.hits["userinfo"] == 0
