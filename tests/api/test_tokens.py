"""Tokens over HTTP: refresh, re-check dates and grace, age-up, revoke/erase, introspection, JWKS."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import (
    AUTH,
    OTHER_CLIENT_KEY,
    PINNED,
    Running,
    bearer,
    running,
    two_clients_settings,
)
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet

from service.core.dates import epoch
from service.core.ids import derive_sid
from service.store.records import AssuranceRecord

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"
ASSURED = PINNED.date()  # 2026-03-10
SELF_DECLARED_RECHECK = ASSURED + timedelta(days=90)  # methods: {self_declaration: P90D}
GRACE = timedelta(days=14)


def problem_of(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["code"] == code
    return body


def payload_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return claims


async def refresh(run: Running, body: dict[str, str], headers: dict[str, str] = AUTH) -> httpx.Response:
    return await run.http.post("/v1/tokens/refresh", json=body, headers=headers)


async def introspect(run: Running, token: str, headers: dict[str, str] = AUTH) -> dict[str, Any]:
    r = await run.http.post("/v1/tokens/introspect", data={"token": token}, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# --- refresh ------------------------------------------------------------------------------------


async def test_refresh_by_sid_gives_a_fresh_token() -> None:
    async with running() as run:
        sid, first = await run.adult_token()
        run.clock.advance(timedelta(hours=1))
        r = await refresh(run, {"sid": sid})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["band"], body["level"], body["recheck_due"]) == ("18_plus", "basic", False)
        assert body["token"] != first
        claims = payload_of(body["token"])
        assert claims["sub"] == sid
        assert claims["iat"] == int((PINNED + timedelta(hours=1)).timestamp())
        assert (await introspect(run, body["token"]))["active"] is True


async def test_refresh_body_sent_in_pieces_is_read_whole() -> None:
    """The hot-path body reader takes a body in one message or in many (chunked uploads)."""
    async with running() as run:
        sid, _ = await run.adult_token()
        body = json.dumps({"sid": sid}).encode()

        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 7):
                yield body[start : start + 7]

        r = await run.http.post(
            "/v1/tokens/refresh", content=pieces(), headers={**AUTH, "Content-Type": "application/json"}
        )
        assert r.status_code == 200, r.text
        assert payload_of(r.json()["token"])["sub"] == sid


async def test_refresh_by_subject_gives_a_token_for_the_same_sid() -> None:
    async with running() as run:
        sid, _ = await run.adult_token("user-7")
        r = await refresh(run, {"subject": "user-7"})
        assert r.status_code == 200, r.text
        assert payload_of(r.json()["token"])["sub"] == sid


async def test_refresh_of_unknown_sid_is_404_unknown_subject() -> None:
    async with running() as run:
        await run.adult_token()
        problem_of(await refresh(run, {"sid": "sid_" + "A" * 43}), 404, "unknown_subject")
        problem_of(await refresh(run, {"subject": "never-checked"}), 404, "unknown_subject")


async def test_refresh_within_grace_is_recheck_due_and_listed_as_due() -> None:
    async with running() as run:
        sid, _ = await run.adult_token()
        run.clock.set(
            datetime.combine(SELF_DECLARED_RECHECK, datetime.min.time(), UTC) - timedelta(seconds=1)
        )
        assert (await refresh(run, {"sid": sid})).json()["recheck_due"] is False
        assert (await run.http.get("/v1/rechecks/due", headers=AUTH)).json()["items"] == []

        listed = {
            "items": [{"sid": sid, "recheck_at": SELF_DECLARED_RECHECK.isoformat()}],
            "next_cursor": None,
        }
        for step in (timedelta(seconds=1), timedelta(days=1)):  # from the re-check day itself on
            run.clock.advance(step)
            r = await refresh(run, {"sid": sid})
            assert r.status_code == 200, r.text
            assert r.json()["recheck_due"] is True
            assert (await run.http.get("/v1/rechecks/due", headers=AUTH)).json() == listed


async def test_refresh_after_recheck_date_plus_grace_is_409_with_a_new_check() -> None:
    async with running() as run:
        sid, _ = await run.adult_token()
        end_of_grace = datetime.combine(SELF_DECLARED_RECHECK, datetime.min.time(), UTC) + GRACE
        run.clock.set(end_of_grace - timedelta(seconds=1))
        assert (await refresh(run, {"sid": sid})).json()["recheck_due"] is True
        run.clock.set(end_of_grace)
        body = problem_of(await refresh(run, {"sid": sid}), 409, "recheck_required")
        assert body["check_id"].startswith("chk_")
        assert body["method"] == "os_signal"
        assert body["methods"] == ["os_signal", "self_declaration"]
        check = (await run.http.get(f"/v1/checks/{body['check_id']}", headers=AUTH)).json()
        assert (check["status"], check["purpose"]) == ("pending", "recheck")
        # Completing the new check gives a new re-check date, and refresh works again.
        r = await run.evidence(body["check_id"], {"method": "self_declaration", "birth_year": 1990})
        assert r.json()["token"]["recheck_at"] == (end_of_grace.date() + timedelta(days=90)).isoformat()
        assert (await refresh(run, {"sid": sid})).status_code == 200


@pytest.mark.parametrize(
    ("evidence", "band", "days"),
    [
        ({"method": "self_declaration", "birth_year": 1990}, "18_plus", 90),  # method P90D < P365D
        ({"method": "self_declaration", "birth_year": 2012}, "13_15", 90),  # method P90D < band P180D
        (
            {"method": "os_signal", "source": "ab1043", "bracket": "13_15"},
            "13_15",
            180,  # band P180D < default P365D
        ),
        (
            {"method": "os_signal", "source": "ab1043", "bracket": "18_plus"},
            "18_plus",
            365,  # only the default applies
        ),
    ],
)
async def test_recheck_date_is_never_later_than_the_shortest_policy_interval(
    evidence: dict[str, Any], band: str, days: int
) -> None:
    async with running(at=PINNED.replace(hour=23, minute=59, second=59)) as run:
        check = await run.start_check()
        body = (await run.evidence(check["check_id"], evidence)).json()
        assert body["outcome"] == "passed", body
        expected = ASSURED + timedelta(days=days)
        assert body["token"]["band"] == band
        assert body["token"]["recheck_at"] == expected.isoformat()
        assert payload_of(body["token"]["token"])["recheck_at"] == epoch(expected)
        record = await run.services.store.records.get_record(check["sid"])
        assert record is not None
        assert (record.assured_at, record.recheck_at) == (ASSURED, expected)


async def test_minor_moves_up_a_band_at_refresh_once_age_up_at_has_passed() -> None:
    async with running() as run:
        svc = run.services
        sid = derive_sid(svc.pepper, "demo", "kid-1")
        record = AssuranceRecord(
            sid=sid,
            client_id="demo",
            band="13_15",
            level="effective",
            method="eid_oidc",
            jurisdiction="default",
            assured_at=ASSURED,
            recheck_at=date(2026, 9, 1),
            age_up_at=date(2026, 4, 1),  # 16th birthday in March, rounded up to the month
            policy_version=svc.policy.current.version,
        )
        await svc.store.records.put_record(record, ttl=int(timedelta(days=400).total_seconds()))

        run.clock.set(datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC))
        assert (await refresh(run, {"subject": "kid-1"})).json()["band"] == "13_15"
        run.clock.set(datetime(2026, 4, 1, tzinfo=UTC))
        r = await refresh(run, {"subject": "kid-1"})
        assert r.status_code == 200, r.text
        assert r.json()["band"] == "16_17"
        assert payload_of(r.json()["token"])["age_band"] == "16_17"
        stored = await svc.store.records.get_record(sid)
        assert stored is not None
        assert (stored.band, stored.age_up_at) == ("16_17", date(2028, 4, 1))  # 18 two years on
        assert stored.recheck_at == date(2026, 9, 1)  # ageing up is not a re-check
        changed = [e for e in run.log_lines() if e.get("event") == "subject.band_changed"]
        # The audit trail names the subject by its shreddable reference, never by the sid.
        assert [(e["sid_hash"], e["band"]) for e in changed] == [(svc.removal.subject_refs.ref(sid), "16_17")]


async def test_due_rechecks_page_oldest_first() -> None:
    async with running() as run:
        sids = []
        for day in range(5):  # one adult per day; each re-check falls 90 days later
            sid, _ = await run.adult_token(f"user-{day}")
            sids.append(sid)
            run.clock.advance(timedelta(days=1))
        run.clock.advance(timedelta(days=100))
        seen: list[str] = []
        cursor = None
        for _ in range(3):
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await run.http.get("/v1/rechecks/due", params=params, headers=AUTH)).json()
            seen += [i["sid"] for i in page["items"]]
            cursor = page["next_cursor"]
        assert cursor is None
        assert seen == sids
        early = {"before": (ASSURED + timedelta(days=92)).isoformat()}
        page = (await run.http.get("/v1/rechecks/due", params=early, headers=AUTH)).json()
        assert [i["sid"] for i in page["items"]] == sids[:2]


# --- revoke and erase ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "done"),
    [("/v1/subjects/revoke", {"revoked": True}), ("/v1/subjects/erase", {"erased": True, "found": True})],
)
async def test_revoke_and_erase_drop_the_record_and_void_issued_tokens(
    path: str, done: dict[str, bool]
) -> None:
    async with running() as run:
        sid, token = await run.adult_token()
        assert (await introspect(run, token))["active"] is True
        r = await run.http.post(path, json={"sid": sid}, headers=AUTH)
        assert r.status_code == 200, r.text
        assert r.json() == done
        assert await run.services.store.records.get_record(sid) is None
        problem_of(await refresh(run, {"sid": sid}), 404, "unknown_subject")
        assert await introspect(run, token) == {"active": False}


async def test_revoking_a_subject_without_a_record_is_404() -> None:
    async with running() as run:
        sid, _ = await run.adult_token()
        first = await run.http.post("/v1/subjects/revoke", json={"sid": sid}, headers=AUTH)
        assert first.status_code == 200
        r = await run.http.post("/v1/subjects/revoke", json={"sid": sid}, headers=AUTH)
        problem_of(r, 404, "unknown_subject")


@pytest.mark.parametrize("by", ["sid", "subject"])
async def test_erasing_again_is_no_error_and_says_nothing_was_found(by: str) -> None:
    async with running() as run:
        sid, token = await run.adult_token("leaving")
        ref = {"sid": sid} if by == "sid" else {"subject": "leaving"}
        first = await run.http.post("/v1/subjects/erase", json=ref, headers=AUTH)
        assert (first.status_code, first.json()) == (200, {"erased": True, "found": True})
        again = await run.http.post("/v1/subjects/erase", json=ref, headers=AUTH)
        assert (again.status_code, again.json()) == (200, {"erased": True, "found": False})
        assert await introspect(run, token) == {"active": False}  # the first erasure's marker stays
        never = await run.http.post("/v1/subjects/erase", json={"subject": "never-seen"}, headers=AUTH)
        assert (never.status_code, never.json()) == (200, {"erased": True, "found": False})
        erased = [e for e in run.log_lines() if e.get("event") == "subject.erased"]
        assert [e["outcome"] for e in erased] == ["erased", "nothing_stored", "nothing_stored"]
        assert sid not in json.dumps(erased)


async def test_revocation_voids_old_tokens_even_after_a_new_check() -> None:
    async with running() as run:
        sid, old = await run.adult_token()
        r = await run.http.post("/v1/subjects/revoke", json={"subject": "user-1"}, headers=AUTH)
        assert r.status_code == 200, r.text
        run.clock.advance(timedelta(seconds=1))
        again, new = await run.adult_token()
        assert again == sid
        assert (await introspect(run, new))["active"] is True
        assert await introspect(run, old) == {"active": False}  # the record is back; the old token is not


# --- introspection ------------------------------------------------------------------------------


async def test_introspection_of_another_clients_token_is_inactive(tmp_path: Path) -> None:
    async with running(two_clients_settings(tmp_path)) as run:
        _, token = await run.adult_token()
        assert await introspect(run, token, bearer(OTHER_CLIENT_KEY)) == {"active": False}
        assert (await introspect(run, token))["active"] is True


async def test_introspection_accepts_a_form_body() -> None:
    async with running() as run:
        sid, token = await run.adult_token()
        r = await run.http.post("/v1/tokens/introspect", data={"token": token}, headers=AUTH)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["active"] is True
        assert set(body) == {
            "active", "client_id", "token_type", "iss", "aud", "sub", "iat", "exp", "jti",
            "age_band", "level", "upper_level", "method", "jur", "pol", "recheck_at",
        }  # fmt: skip
        assert (body["sub"], body["aud"], body["age_band"]) == (sid, "demo", "18_plus")
        assert body["token_type"] == "ageband+jwt"


@pytest.mark.parametrize("form", [True, False])
async def test_introspection_accepts_as_many_fields_as_the_document_allows(form: bool) -> None:
    async with running() as run:
        sid, token = await run.adult_token()
        fields = {"token": token, **{f"ext{i}": "x" for i in range(9)}}  # 10: maxProperties
        sent = {"data": fields} if form else {"json": fields}
        r = await run.http.post("/v1/tokens/introspect", headers=AUTH, **sent)
        assert r.status_code == 200, r.text
        assert (r.json()["active"], r.json()["sub"]) == (True, sid)


async def test_introspection_accepts_a_json_body() -> None:
    async with running() as run:
        sid, token = await run.adult_token()
        r = await run.http.post(
            "/v1/tokens/introspect", json={"token": token, "token_type_hint": "access_token"}, headers=AUTH
        )
        assert r.status_code == 200, r.text
        assert (r.json()["active"], r.json()["sub"]) == (True, sid)


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("application/json", b"{}"),
        ("application/json", b'{"token": ""}'),
        ("application/json", b'{"token": 12}'),
        ("application/json", b'["token"]'),
        ("application/json", b"{"),
        ("application/json", b"\xff\xfe"),
        ("application/x-www-form-urlencoded", b""),
        ("application/x-www-form-urlencoded", b"tok=abc"),
        ("application/x-www-form-urlencoded", b"token=\xff"),
        ("application/x-www-form-urlencoded", b"&".join(b"k%d=v" % i for i in range(20))),
        # More fields than the document's maxProperties (10), in either encoding.
        ("application/x-www-form-urlencoded", b"token=abc&" + b"&".join(b"k%d=v" % i for i in range(10))),
        ("application/json", json.dumps({"token": "abc", **{f"k{i}": "v" for i in range(10)}}).encode()),
    ],
)
async def test_introspection_of_a_malformed_body_is_400_invalid_request(
    content_type: str, raw: bytes
) -> None:
    async with running() as run:
        r = await run.http.post(
            "/v1/tokens/introspect", content=raw, headers={**AUTH, "Content-Type": content_type}
        )
        problem_of(r, 400, "invalid_request")


# --- JWKS ---------------------------------------------------------------------------------------


async def test_jwks_serves_public_keys_only_and_tokens_verify_against_it() -> None:
    async with running() as run:
        sid, token = await run.adult_token()
        r = await run.http.get("/.well-known/jwks.json")
        assert r.status_code == 200, r.text
        jwks = r.json()
        assert len(jwks["keys"]) == 1
        for key in jwks["keys"]:
            assert "d" not in key
            assert set(key) <= {"kty", "crv", "x", "y", "kid", "alg", "use"}
        # Verified with joserfc directly, not with our verifier. joserfc warns on every use of
        # the name "EdDSA" (RFC 9864: it names no curve); the published key is Ed25519.
        with pytest.warns(SecurityWarning):
            decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["EdDSA"])
        assert decoded.header == {"alg": "EdDSA", "typ": "ageband+jwt", "kid": jwks["keys"][0]["kid"]}
        assert decoded.claims["sub"] == sid
        assert decoded.claims["aud"] == "demo"
