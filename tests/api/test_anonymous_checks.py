"""Anonymous checks: no subject, for "confirm you are 18 to see this page" gates.

A check without ``subject`` or ``sid`` ends in a token that names a one-time pseudonym, and no
record is kept: nothing to refresh, no due date, nothing that ties two visits together.
"""

from __future__ import annotations

from typing import Any

import pytest
from factories import AUTH, Running, running

from service.core.ids import is_one_time_sid

pytestmark = pytest.mark.anyio

ADULT = {"method": "self_declaration", "birth_year": 1990}
GATE = {"jurisdiction": "default", "purpose": "access"}


async def start_anonymous(run: Running, **extra: Any) -> dict[str, Any]:
    r = await run.http.post("/v1/checks", json={**GATE, **extra}, headers=AUTH)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def records(run: Running) -> list[str]:
    return [k for k in run.services.store.contents() if k.endswith(":rec")]  # type: ignore[attr-defined]


async def test_an_anonymous_check_ends_in_a_one_time_token_and_keeps_no_record() -> None:
    async with running() as run:
        first = await start_anonymous(run)
        assert is_one_time_sid(first["sid"])
        r = await run.evidence(first["check_id"], ADULT)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["outcome"] == "passed" and body["token"]["band"] == "18_plus"
        assert records(run) == []
        contents = repr(run.services.store.contents())  # type: ignore[attr-defined]
        assert ":due:" not in contents and ":tmr:" not in contents
        # The token is valid, and names the check's one-time pseudonym.
        intro = await run.http.post(
            "/v1/tokens/introspect", data={"token": body["token"]["token"]}, headers=AUTH
        )
        assert intro.json()["active"] is True and intro.json()["sub"] == first["sid"]
        # A second visit gets a pseudonym of its own: the two are never linked.
        second = await start_anonymous(run)
        assert is_one_time_sid(second["sid"]) and second["sid"] != first["sid"]
        # There is nothing to refresh: the pseudonym is no sid.
        r = await run.http.post("/v1/tokens/refresh", json={"sid": first["sid"]}, headers=AUTH)
        assert r.status_code == 422 and r.json()["code"] == "validation_failed"
        # The API already answered the token: reading the check does not answer another.
        r = await run.http.get(f"/v1/checks/{first['check_id']}", headers=AUTH)
        assert r.json()["status"] == "passed" and r.json()["token"] is None


async def test_an_anonymous_minor_gets_a_minor_band_and_no_record() -> None:
    async with running() as run:
        started = await start_anonymous(run)
        r = await run.evidence(started["check_id"], {"method": "self_declaration", "birth_year": 2014})
        assert r.json()["outcome"] == "passed" and r.json()["token"]["band"] != "18_plus"
        assert records(run) == []


@pytest.mark.parametrize("purpose", ["confirm", "appeal", "recheck", "step_up"])
async def test_purposes_that_need_a_band_on_record_need_a_subject(purpose: str) -> None:
    async with running() as run:
        r = await run.http.post("/v1/checks", json={**GATE, "purpose": purpose}, headers=AUTH)
        assert r.status_code == 422 and r.json()["code"] == "validation_failed"
        assert "anonymous" in r.text
        assert run.services.store.contents() == {}  # type: ignore[attr-defined]


async def test_subject_and_sid_together_are_refused() -> None:
    async with running() as run:
        sid = (await run.start_check("user-1"))["sid"]
        r = await run.http.post("/v1/checks", json={**GATE, "subject": "user-1", "sid": sid}, headers=AUTH)
        assert r.status_code == 422 and r.json()["code"] == "validation_failed"


async def test_an_anonymous_token_revoked_by_its_pseudonym_is_no_longer_active() -> None:
    """Introspection skips the record (there is none) but not the revocation marker."""
    async with running() as run:
        started = await start_anonymous(run)
        token = (await run.evidence(started["check_id"], ADULT)).json()["token"]["token"]
        await run.services.store.revocations.revoke(  # type: ignore[attr-defined]
            started["sid"], int(run.clock.now().timestamp()), 600
        )
        intro = await run.http.post("/v1/tokens/introspect", data={"token": token}, headers=AUTH)
        assert intro.json() == {"active": False}
