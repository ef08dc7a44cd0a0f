"""openapi.yaml against the running app.

Each operation's security is what the app enforces: no credential is a 401 where the document
names one (the other kind is a 403), and never a 401 where it names none. Each problem an
operation documents (status and code) is answered by a real request that brings it about: a
scenario per code below, run for every operation that documents the code.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
from answers import documented_codes
from contract_requests import (
    ADULT,
    DOC,
    OPERATIONS,
    ORIGIN,
    RETURN,
    UNKNOWN_STATUS,
    Refs,
    credential,
    form,
    problem,
    sample,
    send,
)
from credential_factory import Pki, verifier_signing
from estimation_vendor import Vendor, face, shared_vendor
from factories import (
    ADMIN,
    AUTH,
    POLICIES,
    Running,
    default_waterfall_line,
    make_settings,
    running,
    write_policy,
)
from PIL import Image
from redis_server import free_port

from providers.base import Failure, Flow, Outcome, ProviderContext, Unavailability
from providers.registry import Registry
from service.app import DEMO_ADMIN_KEY, DEMO_CLIENT_KEY
from service.clients.registry import hash_key
from service.core.ids import new_check_id
from service.settings import Settings
from service.tokens.keys import KeyState, generate_key, write_key

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "oidc"))
from oidc_servers import closed_port, mock_idp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "content"))
from content_setup import fresh_token, performer

pytestmark = pytest.mark.anyio

DOCUMENTED = sorted(
    (op_id, int(status), code)
    for op_id, (_, _, op) in OPERATIONS.items()
    for status, response in op["responses"].items()
    if status != "default"
    for code in documented_codes(response)
)
LIMIT = 1024  # the smallest body limit settings allow, for every kind of route
SMALL_BODIES = {
    "max_body_bytes": LIMIT, "max_batch_body_bytes": LIMIT, "max_evidence_body_bytes": LIMIT,
    "max_wallet_body_bytes": LIMIT,
}  # fmt: skip


@pytest.fixture(scope="module")
def idp() -> Any:
    with mock_idp([{"sub": "adult", "claims": {"birthdate": "1990-05-17"}}]) as issuer:
        yield issuer


@dataclasses.dataclass
class Env:
    tmp_path: Path
    request: pytest.FixtureRequest

    def idp(self) -> str:
        """A real OpenID provider on loopback, started for the module on first use."""
        issuer: str = self.request.getfixturevalue("idp")
        return issuer

    def vendor(self) -> Vendor:
        return shared_vendor()


Scenario = Callable[[Env, str], Awaitable[httpx.Response]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(*codes: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        for code in codes:
            SCENARIOS[code] = fn
        return fn

    return register


def unsupported(op: str, code: str) -> AssertionError:
    return AssertionError(
        f"no scenario makes {op} answer {code}: add one to tests/api/test_openapi_contract.py"
    )


# --- settings the scenarios start apps with -------------------------------------------------------


def clients(tmp_path: Path, jurisdictions: tuple[str, ...] = ("*",)) -> Path:
    """The demo client (with a return URL for redirect methods) and an admin, as a clients file."""
    demo = {"id": "demo", "api_keys": [hash_key(DEMO_CLIENT_KEY)], "jurisdictions": list(jurisdictions)}
    doc = {
        "clients": [{**demo, "return_urls": [RETURN]}],
        "admins": [{"id": "ops", "api_keys": [hash_key(DEMO_ADMIN_KEY)]}],
    }
    path = tmp_path / "clients.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    return path


def oidc_provider(issuer: str, name: str = "bank") -> dict[str, Any]:
    """An OpenID Connect provider instance named ``name``, for settings' ``providers.instances``."""
    config = {
        "issuer": issuer, "client_id": "ageband-test", "client_secret": "s3cret",
        "redirect_uri": f"http://localhost/v1/oidc/{name}/callback", "scopes": ["openid"],
        "allow_insecure_loopback": True, "timeout_seconds": 5.0,
    }  # fmt: skip
    return {"type": "eid_oidc", "config": config}


def oidc_settings(
    tmp_path: Path, issuer: str, more: dict[str, Any] | None = None, **overrides: Any
) -> Settings:
    """A redirect method ``bank`` in the default jurisdiction's waterfall (not in US-CA's), and
    ``more`` provider instances enabled."""
    policy = write_policy(
        tmp_path,
        replace={
            default_waterfall_line(): "waterfall: [bank, os_signal, self_declaration]",
            "\nmethods:\n": "\nmethods:\n  bank:\n    class: eid_oidc\n    level: highly_effective\n",
        },
    )
    for other in POLICIES.glob("*.yaml"):
        if other.name != "default.yaml":
            (policy / other.name).write_text(other.read_text(encoding="utf-8"), encoding="utf-8")
    return make_settings(
        policy_path=policy,
        clients_file=clients(tmp_path),
        providers={
            "enabled": ["bank", "os_signal", "self_declaration", *(more or {})],
            "instances": {"bank": oidc_provider(issuer), **(more or {})},
        },
        **overrides,
    )


def estimation_settings(vendor: Vendor, scenario: str = "ok", **config: Any) -> Settings:
    return make_settings(
        providers={
            "enabled": ["os_signal", "self_declaration", "facial_estimation"],
            "instances": {
                "facial_estimation": {"type": "http_estimation", "config": vendor.config(scenario, **config)}
            },
        }
    )


def local_estimation_settings(**config: Any) -> Settings:
    return make_settings(
        providers={
            "enabled": ["os_signal", "self_declaration", "facial_estimation"],
            "instances": {"facial_estimation": {"type": "local_estimation", "config": config}},
        }
    )


def abuse_settings(tmp_path: Path, replace: dict[str, str]) -> Settings:
    return make_settings(policy_path=write_policy(tmp_path, replace=replace))


# One attempt per subject and hour: the second is 429 rate_limited and locks the subject.
ONE_ATTEMPT = {"per_sid: {max: 30, window: PT1H}": "per_sid: {max: 1, window: PT1H}"}
# One failure brings a sanction whose minimum level no enabled method reaches (nothing locks).
UNREACHABLE_LEVEL = {
    "failures: {max: 5, window: PT1H}": "failures: {max: 1, window: PT1H}",
    "repeated_failures:\n          lock: PT15M\n": "repeated_failures:\n          min_level: strict\n",
}


# --- requests that evidence operations share ------------------------------------------------------


async def submit(
    run: Running, op: str, check_id: str, evidence: dict[str, Any], **files: bytes
) -> httpx.Response:
    """Evidence for a check, as JSON (``submitEvidence``) or as a multipart form (``uploadEvidence``)."""
    refs = Refs(check_id=check_id)
    if op == "submitEvidence":
        return await send(run, op, refs, json=evidence)
    if op == "uploadEvidence":
        return await send(run, op, refs, files=form({k: str(v) for k, v in evidence.items()}, **files))
    raise AssertionError(f"{op} takes no evidence")


async def image(run: Running, op: str, check_id: str, data: bytes) -> httpx.Response:
    if op == "submitEvidence":
        evidence = {"method": "facial_estimation", "image": base64.b64encode(data).decode()}
        return await send(run, op, Refs(check_id=check_id), json=evidence)
    return await submit(run, op, check_id, {"method": "facial_estimation"}, image=data)


async def passed_check(run: Running, subject: str = "user-1") -> str:
    check = await run.start_check(subject)
    r = await run.evidence(check["check_id"], ADULT)
    assert r.json()["outcome"] == "passed", r.text
    return str(check["check_id"])


async def oidc_state(run: Running, check_id: str) -> str:
    """Start the redirect method for a check: the state the identity provider would send back."""
    r = await send(run, "startOidcLogin", Refs(check_id=check_id))
    assert r.status_code == 303, r.text
    return parse_qs(urlsplit(r.headers["location"]).query)["state"][0]


# --- what any operation answers: its credential and its input --------------------------------------


@scenario("unauthorized")
async def no_credential(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op, headers={})


@scenario("forbidden")
async def the_other_credential(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op, headers=ADMIN if credential(op) == AUTH else AUTH)


@scenario("unsupported_media_type")
async def a_text_body(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op, content=b"{}", headers={**credential(op), "Content-Type": "text/plain"})


@scenario("malformed_json")
async def broken_json(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(
            run, op, content=b'{"a":', headers={**credential(op), "Content-Type": "application/json"}
        )


@scenario("malformed_body")
async def undecodable_json(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        headers = {**credential(op), "Content-Type": "application/json"}
        return await send(run, op, content=b'"\xff"', headers=headers)


@scenario("validation_failed")
async def input_off_the_schema(env: Env, op: str) -> httpx.Response:
    """A JSON body that is not an object, else the first parameter out of its documented bounds."""
    async with running() as run:
        body = OPERATIONS[op][2].get("requestBody", {}).get("content", {})
        if set(body) == {"application/json"}:
            return await send(run, op, json=[])
        for param in OPERATIONS[op][2].get("parameters", []):
            schema = param["schema"]
            if param["in"] == "path" and "maxLength" in schema:
                return await send(run, op, path={param["name"]: "x" * (schema["maxLength"] + 1)})
            if param["in"] == "query" and param.get("required"):
                return await send(run, op, params={})
            if param["in"] == "query" and "minimum" in schema:
                return await send(run, op, params={param["name"]: schema["minimum"] - 1})
        raise unsupported(op, "validation_failed")


@scenario("body_too_large")
async def a_body_past_the_limit(env: Env, op: str) -> httpx.Response:
    async with running(make_settings(http=SMALL_BODIES)) as run:
        body = b"{" + b" " * LIMIT + b"}"
        return await send(
            run, op, content=body, headers={**credential(op), "Content-Type": "application/json"}
        )


@scenario("store_unavailable")
async def the_store_is_down(env: Env, op: str) -> httpx.Response:
    """Twin apps with the same pepper, signing key and clients: what the request refers to is made
    on one with a working store, and the request goes to the other, whose Redis is not there."""
    key = env.tmp_path / "signing.jwk"
    write_key(generate_key(state=KeyState.active), key, "jwk")
    issuer = env.idp() if op == "oidcCallback" else closed_port()
    common = {"tokens": {"keys": [{"path": key, "state": "active"}]}}
    down = {"backend": "redis", "redis_url": f"redis://127.0.0.1:{free_port()}/0"}
    async with running(oidc_settings(env.tmp_path, issuer, **common)) as live:
        _, token = await live.adult_token("user-1")
        check_id = (await live.start_check("user-2"))["check_id"]
        state = await oidc_state(live, check_id) if op == "oidcCallback" else "not-a-state"
    refs = Refs(check_id=check_id, token=token, state=state)
    async with running(oidc_settings(env.tmp_path, issuer, store=down, **common)) as dead:
        return await send(dead, op, refs)


# --- decisions ----------------------------------------------------------------------------------------


def decision(op: str, **change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"action": "profile.view", "jurisdiction": "default", "actor": {"band": "18_plus"}}
    body |= (
        {"target": {"band": "18_plus"}} if op == "decide" else {"targets": [{"id": "t1", "band": "18_plus"}]}
    )
    body |= change
    return authzen(op, body) if op in AUTHZEN else body


AUTHZEN = ("accessEvaluation", "accessEvaluations", "searchResource")


def authzen(op: str, d: dict[str, Any]) -> dict[str, Any]:
    """The same decision in AuthZEN's shape (one evaluation: its problems are the request's)."""
    request: dict[str, Any] = {
        "subject": {"type": "user", "id": "u1", "properties": d["actor"]},
        "action": {"name": d["action"]},
        "context": {"jurisdiction": d["jurisdiction"]},
    }
    if op == "searchResource":
        request["resource"] = {"type": "account", "properties": {"candidates": d["targets"]}}
    else:
        target = {k: v for k, v in d["targets"][0].items() if k != "id"}
        request["resource"] = {"type": "account", "id": "t1", "properties": target}
    return request


@scenario("unknown_jurisdiction")
async def a_jurisdiction_not_in_the_policy(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        if op == "registerContent":
            return await send(run, op, json=dict(sample(op, Refs())["json"], jurisdiction="ZZ"))
        if op == "createCheck":
            return await send(run, op, json={"subject": "u", "jurisdiction": "ZZ"})
        if op in CONNECTING:
            _, token = await run.adult_token()
            return await send(run, op, json={**connecting(op, token), "jurisdiction": "ZZ"})
        return await send(run, op, json=decision(op, jurisdiction="ZZ"))


@scenario("jurisdiction_not_allowed")
async def a_jurisdiction_the_client_may_not_use(env: Env, op: str) -> httpx.Response:
    async with running(make_settings(clients_file=clients(env.tmp_path, ("default",)))) as run:
        if op == "registerContent":
            return await send(run, op, json=dict(sample(op, Refs())["json"], jurisdiction="GB"))
        if op == "createCheck":
            return await send(run, op, json={"subject": "u", "jurisdiction": "GB"})
        return await send(run, op, json=decision(op, jurisdiction="GB"))


@scenario("unknown_action")
async def an_action_not_in_the_policy(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op, json=decision(op, action="no.such.action"))


@scenario("unknown_band_or_level")
async def a_band_not_in_the_policy(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op, json=decision(op, actor={"band": "no_such_band"}))


@scenario("duplicate_target_id")
async def two_targets_with_one_id(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op, json=decision(op, targets=[{"id": "t1"}, {"id": "t1"}]))


@scenario("invalid_party_token")
async def a_party_token_that_does_not_verify(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        if op in CONNECTING:
            return await send(run, op, json=connecting(op, "eyJ.not.a-token"))
        return await send(run, op, json=decision(op, actor={"token": "eyJ.not.a-token"}))


# --- subjects and tokens ------------------------------------------------------------------------------


@scenario("unknown_subject")
async def a_subject_without_a_record(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        if op == "createCheck":
            return await send(run, op, json={"sid": "sid_" + "B" * 43, "jurisdiction": "default"})
        return await send(run, op, Refs(subject="never-checked"))


@scenario("unknown_level")
async def a_level_not_in_the_policy(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        await run.adult_token("user-1")
        return await send(
            run, op, json={"subject": "user-1", "reason": "moderator_request", "min_level": "gold"}
        )


@scenario("invalid_deadline")
async def a_deadline_already_past(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        await run.adult_token("user-1")
        past = {"subject": "user-1", "reason": "moderator_request", "deadline": "2020-01-01T00:00:00Z"}
        return await send(run, op, json=past)


@scenario("appeal_not_available")
async def an_appeal_of_a_band_no_method_here_beats(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        await run.guardian_token("vouched")  # effective: only credentials and eIDs are stronger
        return await send(
            run, op, json={"subject": "vouched", "jurisdiction": "default", "purpose": "appeal"}
        )


GUARDIAN_ADULT = {"method": "os_signal", "source": "google_play", "user_status": "VERIFIED", "age_lower": 18}


async def _checked(run: Running, subject: str, evidence: dict[str, Any]) -> None:
    check = await run.start_check(subject)
    r = await run.evidence(check["check_id"], evidence)
    assert r.json()["outcome"] == "passed", r.text


GUARDIAN_LINE = (
    "    guardian: {min_level: effective, guardian_confirmed: effective, code_ttl: PT30M, max_children: 6}\n"
)


@scenario("guardian_not_available")
async def a_policy_without_guardian_confirmation(env: Env, op: str) -> httpx.Response:
    policy = write_policy(env.tmp_path, replace={GUARDIAN_LINE: ""})
    async with running(make_settings(policy_path=policy)) as run:
        await _checked(run, "grown", GUARDIAN_ADULT)
        if op == "confirmAsGuardian":
            return await send(run, op, json={"subject": "grown", "code": "ABCDE-FGHJK"})
        return await send(run, op, json={"subject": "grown"})


@scenario("guardian_not_eligible")
async def a_guardian_who_self_declared(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        await run.adult_token("typed-adult")
        return await send(run, op, json={"subject": "typed-adult", "code": "ABCDE-FGHJK"})


@scenario("invalid_guardian_code")
async def a_guardian_code_never_issued(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        await _checked(run, "parent", GUARDIAN_ADULT)
        return await send(run, op, json={"subject": "parent", "code": "ABCDE-FGHJK"})


@scenario("guardian_limit_reached")
async def a_guardian_with_every_child_confirmed(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        await _checked(run, "parent", GUARDIAN_ADULT)
        for n in range(7):
            await run.adult_token(f"kid-{n}", birth_year=2015)
            code = await run.http.post("/v1/guardians/codes", json={"subject": f"kid-{n}"}, headers=AUTH)
            r = await send(run, op, json={"subject": "parent", "code": code.json()["code"]})
            if r.status_code != 200:
                return r
        raise unsupported(op, "guardian_limit_reached")


CONNECTING = ("openConnection", "confirmConnection")


def connecting(op: str, token: str) -> dict[str, Any]:
    body = {"jurisdiction": "default", "token": token}
    return body | {"nonce": "n" * 32} if op == "confirmConnection" else body


@scenario("trusted_not_available")
async def a_policy_without_trusted_connections(env: Env, op: str) -> httpx.Response:
    line = "    trusted: {min_band: under_13, across_adult_line: false, confirm_within: P7D, ttl: P365D}\n"
    async with running(make_settings(policy_path=write_policy(env.tmp_path, replace={line: ""}))) as run:
        _, token = await run.adult_token()
        return await send(run, op, json=connecting(op, token))


@scenario("invalid_connection")
async def a_pair_nonce_never_issued(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        _, token = await run.adult_token()
        return await send(run, op, json=connecting(op, token))


@scenario("recheck_required")
async def a_record_past_its_recheck_and_grace(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        await run.adult_token("user-1")
        run.clock.advance(timedelta(days=90 + 14 + 1))  # self_declaration: P90D, grace P14D
        return await send(run, op, Refs(subject="user-1"))


@scenario("subject_locked")
async def a_locked_subject(env: Env, op: str) -> httpx.Response:
    async with running(abuse_settings(env.tmp_path, ONE_ATTEMPT)) as run:
        earlier = await run.start_check("hasty")  # before the lock
        await run.adult_token("hasty")  # the one attempt of the hour
        again = await run.start_check("hasty")
        r = await run.evidence(again["check_id"], ADULT)
        assert problem(r) == (429, "rate_limited"), r.text
        if op in ("submitEvidence", "uploadEvidence"):
            return await submit(run, op, earlier["check_id"], ADULT)
        return await send(run, op, Refs(subject="hasty"))


@scenario("stronger_method_required")
async def a_sanction_no_method_can_settle(env: Env, op: str) -> httpx.Response:
    async with running(abuse_settings(env.tmp_path, UNREACHABLE_LEVEL)) as run:
        await run.adult_token("sanctioned")
        check = await run.start_check("sanctioned")
        r = await run.evidence(check["check_id"], UNKNOWN_STATUS)
        assert r.json().get("sanction") == "repeated_failures", r.text
        return await send(run, op, Refs(subject="sanctioned"))


@scenario("invalid_request")
async def an_introspection_without_a_token(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op, json={"not_a_token": "x"})


# --- checks -------------------------------------------------------------------------------------------


@scenario("no_method_available")
async def a_waterfall_of_methods_not_enabled(env: Env, op: str) -> httpx.Response:
    policy = write_policy(env.tmp_path, replace={default_waterfall_line(): "waterfall: [age_credential]"})
    async with running(make_settings(policy_path=policy)) as run:
        return await send(run, op)


@scenario("unknown_check")
async def a_check_id_never_issued(env: Env, op: str) -> httpx.Response:
    async with running(make_settings(clients_file=clients(env.tmp_path))) as run:
        return await send(run, op, Refs(check_id=new_check_id(run.clock.now() + timedelta(minutes=5))))


@scenario("check_expired")
async def a_check_past_its_ttl(env: Env, op: str) -> httpx.Response:
    async with running(make_settings(clients_file=clients(env.tmp_path))) as run:
        check = await run.start_check()
        run.clock.advance(timedelta(minutes=16))  # check_ttl: PT15M
        return await send(run, op, Refs(check_id=check["check_id"]))


@scenario("check_closed")
async def a_completed_check(env: Env, op: str) -> httpx.Response:
    if op == "oidcCallback":  # the check completed by another method after the redirect began
        async with running(oidc_settings(env.tmp_path, env.idp())) as run:
            check = await run.start_check()
            state = await oidc_state(run, check["check_id"])
            assert (await run.evidence(check["check_id"], ADULT)).json()["outcome"] == "passed"
            return await send(run, op, Refs(state=state))
    async with running(make_settings(clients_file=clients(env.tmp_path))) as run:
        return await send(run, op, Refs(check_id=await passed_check(run)))


@scenario("unknown_method")
async def a_method_the_deployment_does_not_have(env: Env, op: str) -> httpx.Response:
    if op == "startOidcLogin":  # a redirect provider of the deployment, not a method of the policy
        more = {"other_bank": oidc_provider(closed_port(), "other_bank")}
        async with running(oidc_settings(env.tmp_path, closed_port(), more)) as run:
            check_id = (await run.start_check())["check_id"]
            return await send(run, op, Refs(check_id=check_id, provider="other_bank"))
    async with running(make_settings(clients_file=clients(env.tmp_path))) as run:
        check_id = (await run.start_check())["check_id"]
        if op in ("submitEvidence", "uploadEvidence"):
            return await submit(run, op, check_id, {"method": "palm_reading"})
        # self_declaration is a method, but not one that takes wallet presentations
        return await send(run, op, Refs(check_id=check_id, method="self_declaration"))


@scenario("method_not_allowed")
async def a_method_the_jurisdiction_does_not_offer(env: Env, op: str) -> httpx.Response:
    if op in ("submitEvidence", "uploadEvidence"):  # attempts: {per_method: 3}
        async with running() as run:
            check_id = (await run.start_check())["check_id"]
            for _ in range(3):
                assert (await run.evidence(check_id, UNKNOWN_STATUS)).json()["outcome"] == "failed"
            return await submit(run, op, check_id, UNKNOWN_STATUS)
    # bank is a method of the deployment, not of US-CA's waterfall
    async with running(oidc_settings(env.tmp_path, closed_port(), {})) as run:
        check_id = (await run.start_check(jurisdiction="US-CA"))["check_id"]
        return await send(run, op, Refs(check_id=check_id, method="bank", provider="bank"))


@scenario("attempts_exhausted")
async def more_submissions_than_the_check_allows(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        check_id = (await run.start_check())["check_id"]
        bad = {"method": "self_declaration", "birth_year": "not a year"}
        for _ in range(5):  # attempts: {per_check: 5}; evidence that does not parse costs one too
            assert problem(await run.evidence(check_id, bad)) == (422, "invalid_evidence")
        return await submit(run, op, check_id, ADULT)


@scenario("rate_limited")
async def attempts_past_the_subjects_limit(env: Env, op: str) -> httpx.Response:
    async with running(abuse_settings(env.tmp_path, ONE_ATTEMPT)) as run:
        await run.adult_token("hasty")
        return await submit(run, op, (await run.start_check("hasty"))["check_id"], ADULT)


@scenario("invalid_evidence")
async def evidence_off_the_methods_schema(env: Env, op: str) -> httpx.Response:
    if op in ("postWalletResponse", "submitDcApiResponse"):
        return await a_presentation_over_the_methods_cap(env, op)
    async with running() as run:
        return await submit(
            run, op, (await run.start_check())["check_id"], {"method": "os_signal", "source": "x"}
        )


@scenario("malformed_upload")
async def a_form_without_the_method(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(
            run, op, Refs(check_id=(await run.start_check())["check_id"]), files=form({"a": "b"})
        )


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG")
    return out.getvalue()


BAD_IMAGES: dict[str, Callable[[], bytes]] = {
    "unsupported_image_type": lambda: b"GIF89a" + b"\0" * 64,
    "image_unreadable": lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    "image_too_large": lambda: b"\xff\xd8\xff" + b"\0" * 4000,  # the method takes 2048 bytes here
    "image_too_many_pixels": lambda: png((6000, 6000), mode="1"),  # a few KB, 108 MB decoded
    "image_too_small": lambda: png((16, 200)),
}


def a_bad_image(code: str) -> Scenario:
    async def send_it(env: Env, op: str) -> httpx.Response:
        limits = {"images": {"max_bytes": 2048}} if code == "image_too_large" else {}
        if op == "reviewContent":  # a frame of an item, through the local estimator
            async with running(local_estimation_settings(**limits)) as run:
                refs = await content_refs(run)
                frames = [base64.b64encode(BAD_IMAGES[code]()).decode()]
                return await send(run, op, refs, json={"frames": frames})
        async with running(estimation_settings(env.vendor(), **limits)) as run:
            return await image(run, op, (await run.start_check())["check_id"], BAD_IMAGES[code]())

    return send_it


SCENARIOS.update({code: a_bad_image(code) for code in BAD_IMAGES})


@scenario("method_unavailable")
async def a_method_that_cannot_run(env: Env, op: str) -> httpx.Response:
    """Evidence for a method whose vendor's circuit is open; for the wallet and redirect routes,
    facial_estimation: a method of the default waterfall whose provider is not enabled."""
    if op in ("submitEvidence", "uploadEvidence"):
        return await a_method_whose_circuit_is_open(env, op)
    async with running() as run:
        check_id = (await run.start_check())["check_id"]
        return await send(
            run, op, Refs(check_id=check_id, method="facial_estimation", provider="facial_estimation")
        )


async def a_method_whose_circuit_is_open(env: Env, op: str) -> httpx.Response:
    settings = estimation_settings(env.vendor(), "status/500", failure_threshold=1, recovery_seconds=60)
    async with running(settings) as run:
        check_id = (await run.start_check())["check_id"]
        assert problem(await image(run, op, check_id, face())) == (503, "provider_unavailable")
        return await image(run, op, check_id, face())


@scenario("provider_unavailable")
async def a_vendor_that_fails(env: Env, op: str) -> httpx.Response:
    async with running(estimation_settings(env.vendor(), "status/503")) as run:
        return await image(run, op, (await run.start_check())["check_id"], face())


@scenario("provider_bad_response")
async def a_vendor_that_answers_nonsense(env: Env, op: str) -> httpx.Response:
    async with running(estimation_settings(env.vendor(), "malformed")) as run:
        return await image(run, op, (await run.start_check())["check_id"], face())


class Gate:
    """A provider for ``os_signal`` that waits inside its call until the test lets it answer."""

    method_class: ClassVar[str] = "os_signal"
    evidence_kinds: ClassVar[tuple[str, ...]] = ("os_signal",)
    flow: ClassVar[Flow] = Flow.SUBMIT

    def __init__(self) -> None:
        self.inside = anyio.Event()
        self.go = anyio.Event()

    @property
    def name(self) -> str:
        return "os_signal"

    def unavailable(self) -> Unavailability | None:
        return None

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        self.inside.set()
        await self.go.wait()
        return Failure("signal_unavailable")


class Broken(Gate):
    """A provider for ``os_signal`` whose code fails: an exception that is not an ageband error."""

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        raise RuntimeError("vendor code failed")


def with_os_signal(run: Running, provider: Gate) -> None:
    """The app's providers, with ``os_signal`` replaced (a third party's provider, as the
    registry would load one)."""
    svc = run.services
    providers = Registry({**{n: svc.providers.get(n) for n in svc.providers.names}, "os_signal": provider})
    run.use_providers(providers)


@scenario("check_busy")
async def a_check_changed_during_the_providers_call(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        gate = Gate()
        with_os_signal(run, gate)
        check_id = (await run.start_check())["check_id"]
        answers: list[httpx.Response] = []

        async def slow() -> None:
            answers.append(await submit(run, op, check_id, UNKNOWN_STATUS))

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow)
            await gate.inside.wait()
            assert (await run.evidence(check_id, ADULT)).json()["outcome"] == "passed"
            gate.go.set()
        return answers[0]


@scenario("provider_failed")
async def a_provider_that_raises(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        with_os_signal(run, Broken())
        return await submit(run, op, (await run.start_check())["check_id"], UNKNOWN_STATUS)


# --- redirect methods -----------------------------------------------------------------------------------


@scenario("return_url_not_allowed")
async def a_return_url_off_the_allowlist(env: Env, op: str) -> httpx.Response:
    if op == "createCheck":  # the check page's return URL
        async with running() as run:
            body = {"subject": "u", "jurisdiction": "default", "return_url": "https://evil.example/"}
            return await send(run, op, json=body)
    async with running(oidc_settings(env.tmp_path, closed_port())) as run:
        check_id = (await run.start_check())["check_id"]
        return await send(run, op, Refs(check_id=check_id), params={"return_url": "https://evil.example/"})


@scenario("invalid_return_url")
async def a_return_url_that_is_no_address(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        body = {"subject": "u", "jurisdiction": "default", "return_url": "javascript:alert(1)"}
        return await send(run, op, json=body)


@scenario("identity_provider_unavailable")
async def an_identity_provider_that_is_down(env: Env, op: str) -> httpx.Response:
    if op == "startOidcLogin":
        async with running(oidc_settings(env.tmp_path, closed_port())) as run:
            return await send(run, op, Refs(check_id=(await run.start_check())["check_id"]))
    stack = ExitStack()
    issuer = stack.enter_context(mock_idp([]))
    with stack:
        async with running(oidc_settings(env.tmp_path, issuer)) as run:
            state = await oidc_state(run, (await run.start_check())["check_id"])
            stack.close()  # up for the start, down by the callback
            return await send(run, op, Refs(state=state))


@scenario("unknown_provider")
async def a_provider_the_deployment_does_not_have(env: Env, op: str) -> httpx.Response:
    async with running(make_settings(clients_file=clients(env.tmp_path))) as run:
        check_id = (await run.start_check())["check_id"]
        return await send(run, op, Refs(check_id=check_id, provider="no_such_bank"))


@scenario("invalid_state")
async def a_state_that_is_not_ours(env: Env, op: str) -> httpx.Response:
    async with running(oidc_settings(env.tmp_path, closed_port())) as run:
        return await send(run, op, Refs(state="not-a-state"))


@scenario("state_used")
async def a_callback_sent_twice(env: Env, op: str) -> httpx.Response:
    async with running(oidc_settings(env.tmp_path, env.idp())) as run:
        state = await oidc_state(run, (await run.start_check())["check_id"])
        first = await send(run, op, Refs(state=state))
        assert first.status_code == 303, first.text  # the code is refused: the check goes on
        return await send(run, op, Refs(state=state))


# --- re-checks and administration -----------------------------------------------------------------------


@scenario("invalid_cursor")
async def a_cursor_we_did_not_issue(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op, params={"cursor": "not-a-cursor"})


@scenario("dev_clock_disabled")
async def the_clock_without_dev_clock(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op)


@scenario("keys_not_reloadable")
async def keys_fixed_at_start_up(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op)


@scenario("keys_rejected")
async def a_key_manifest_broken_since_start_up(env: Env, op: str) -> httpx.Response:
    key, manifest = env.tmp_path / "active.pem", env.tmp_path / "keys.yaml"
    write_key(generate_key(state=KeyState.active), key, "pem")
    manifest.write_text(f"- {{path: {key}, state: active}}\n")
    async with running(make_settings(tokens={"keys_file": manifest})) as run:
        manifest.write_text("- {path: /nonexistent.pem, state: active}\n")
        return await send(run, op)


@scenario("policy_rejected")
async def a_policy_broken_since_start_up(env: Env, op: str) -> httpx.Response:
    policy = write_policy(env.tmp_path)
    async with running(make_settings(policy_path=policy)) as run:
        (policy / "default.yaml").write_text("apiVersion: [", encoding="utf-8")
        return await send(run, op)


# --- wallet methods (OpenID4VP) ------------------------------------------------------------------------


def wallet_settings(
    tmp_path: Path, *, signing: bool = True, public_url: str | None = "https://ageband.test", **more: Any
) -> Settings:
    """age_credential in the default waterfall, with the DC API origin and (optionally) a request
    signing key and the public URL wallets reach the service at."""
    pki = Pki.make("Contract")
    policy = write_policy(
        tmp_path,
        replace={default_waterfall_line(): "waterfall: [age_credential, os_signal, self_declaration]"},
    )
    sign = verifier_signing()
    config = pki.config(origins=[ORIGIN], **more)
    if signing:
        config["request_signing"] = {"key": sign["key"], "certificates": sign["certificates"]}
    return make_settings(
        policy_path=policy,
        clients_file=clients(tmp_path),
        http={"public_url": public_url},
        providers={
            "enabled": ["os_signal", "self_declaration", "age_credential"],
            "instances": {"age_credential": {"config": config}},
        },
    )


@scenario("origin_not_allowed")
async def an_origin_the_method_does_not_name(env: Env, op: str) -> httpx.Response:
    async with running(wallet_settings(env.tmp_path)) as run:
        check_id = (await run.start_check())["check_id"]
        body = dict(sample(op, Refs())["json"], origin="https://elsewhere.example")
        return await send(run, op, Refs(check_id=check_id, method="age_credential"), json=body)


@scenario("wallet_request_unavailable")
async def a_wallet_method_without_signing_key_or_public_url(env: Env, op: str) -> httpx.Response:
    """No request signing key (request objects, a signed DC API request), or no public URL (links,
    the response endpoint)."""
    no_url = op in ("getWalletLinks", "postWalletResponse")
    settings = wallet_settings(env.tmp_path, signing=no_url, public_url=None if no_url else "https://a.test")
    async with running(settings) as run:
        check_id = (await run.start_check())["check_id"]
        given = {"json": {"origin": ORIGIN, "signed": True}} if op == "createDcApiRequest" else {}
        return await send(run, op, Refs(check_id=check_id, method="age_credential"), **given)


async def a_presentation_over_the_methods_cap(env: Env, op: str) -> httpx.Response:
    """One presentation longer than the instance's max_presentation_bytes."""
    async with running(wallet_settings(env.tmp_path, max_presentation_bytes=1024)) as run:
        refs = Refs(check_id=(await run.start_check())["check_id"], method="age_credential")
        vp_token = {"age_mdoc": ["A" * 2048]}
        if op == "submitDcApiResponse":
            body = dict(sample(op, refs)["json"], data={"vp_token": vp_token})
            return await send(run, op, refs, json=body)
        links = (await send(run, "getWalletLinks", refs)).json()
        request_object = (await run.http.get(urlsplit(links["request_uri"]).path)).text
        claims = json.loads(base64.urlsafe_b64decode(request_object.split(".")[1] + "=="))
        form = {"vp_token": json.dumps(vp_token), "state": claims["state"]}
        return await send(run, op, refs, params={"response_mode": "direct_post"}, data=form)


@scenario("invalid_wallet_response")
async def a_wallet_response_of_the_wrong_shape(env: Env, op: str) -> httpx.Response:
    """A response mode ageband does not answer with, a body that is not a form, or a DC API
    protocol nobody defined."""
    async with running(wallet_settings(env.tmp_path)) as run:
        refs = Refs(check_id=(await run.start_check())["check_id"], method="age_credential")
        if op in ("getRequestObject", "postRequestObject"):
            return await send(run, op, refs, params={"response_mode": "fragment"})
        if op == "postWalletResponse":
            return await send(run, op, refs, content=b"vp_token", headers={"Content-Type": "text/plain"})
        body = dict(sample(op, refs)["json"], protocol="carrier-pigeon")
        return await send(run, op, refs, json=body)


# --- adult content ------------------------------------------------------------------------------------


async def content_refs(run: Running, *, register: bool = True, subject: str = "performer-1") -> Refs:
    """A performer assured by a credential, their fresh token, and (unless not) an item naming them."""
    who = await performer(run, subject)
    refs = Refs(sid=who.sid, token=await fresh_token(run, who))
    if register:
        r = await send(run, "registerContent", refs)
        assert r.status_code == 201, r.text
        refs.content_id = r.json()["content_id"]
    return refs


@scenario("content_not_enabled")
async def a_policy_without_a_depicted_section(env: Env, op: str) -> httpx.Response:
    text = (POLICIES / "default.yaml").read_text(encoding="utf-8")
    start = text.index("\ndepicted:\n")
    end = text.index("\n\n", start + 1)
    policy = write_policy(env.tmp_path, replace={text[start:end]: ""})
    async with running(make_settings(policy_path=policy)) as run:
        return await send(run, op, await content_refs(run, register=False))


@scenario("review_unavailable")
async def review_where_no_local_estimator_runs(env: Env, op: str) -> httpx.Response:
    async with running() as run:  # the default providers: no local estimation
        return await send(run, op, await content_refs(run))


@scenario("unknown_content")
async def a_content_id_never_issued(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op, await content_refs(run, register=False))


@scenario("content_exists")
async def a_reference_registered_twice(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op, await content_refs(run))


@scenario("invalid_recording_month")
async def a_recording_month_in_the_future(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        refs = await content_refs(run, register=False)
        return await send(run, op, refs, json=dict(sample(op, refs)["json"], recorded="2099-01"))


@scenario("unknown_performer")
async def a_sid_the_client_has_no_record_of(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        return await send(run, op)


@scenario("invalid_consent_token")
async def a_persons_token_that_does_not_verify(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        refs = await content_refs(run)
        refs.token = "not-a-token"
        return await send(run, op, refs)


@scenario("consent_token_stale")
async def a_persons_token_past_the_consent_age(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        refs = await content_refs(run)
        run.clock.advance(timedelta(minutes=3))
        return await send(run, op, refs)


@scenario("consent_token_used")
async def a_persons_token_used_twice(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        refs = await content_refs(run)
        first = await send(run, op, refs)
        assert first.status_code == 200, first.text
        return await send(run, op, refs)


@scenario("not_depicted")
async def a_token_of_someone_not_in_the_item(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        refs = await content_refs(run)
        refs.token = (await content_refs(run, register=False, subject="bystander")).token
        return await send(run, op, refs)


@scenario("content_hash_mismatch")
async def a_consent_to_other_media(env: Env, op: str) -> httpx.Response:
    async with running() as run:
        refs = await content_refs(run)
        return await send(run, op, refs, json={"token": refs.token, "content_hash": "sha256:" + "1" * 64})


# --- the tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", sorted(OPERATIONS))
async def test_security_is_what_the_app_enforces(op: str) -> None:
    schemes = [name for requirement in OPERATIONS[op][2].get("security", []) for name in requirement]
    async with running() as run:
        r = await send(run, op, headers={})
        if not schemes:
            assert r.status_code not in (401, 403), (op, r.status_code, r.text)
            return
        assert problem(r) == (401, "unauthorized"), (op, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        other = ADMIN if schemes == ["apiKey"] else AUTH
        assert problem(await send(run, op, headers=other)) == (403, "forbidden"), op
        r = await send(run, op)
        assert r.status_code not in (401, 403), (op, r.status_code, r.text)


@pytest.mark.parametrize(("op", "status", "code"), DOCUMENTED, ids=[f"{o}-{s}-{c}" for o, s, c in DOCUMENTED])
async def test_each_documented_problem_is_answered(
    op: str, status: int, code: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    assert code in SCENARIOS, f"no scenario for {code}: add one to this module"
    r = await SCENARIOS[code](Env(tmp_path, request), op)
    assert problem(r) == (status, code), r.text
    headers = OPERATIONS[op][2]["responses"][str(status)].get("headers", {})
    for name in (n for n, spec in headers.items() if spec.get("required")):  # Retry-After on a 503
        assert name in r.headers, (name, dict(r.headers))


INPUT_PROBLEMS = {"malformed_json", "malformed_body", "validation_failed", "unsupported_media_type"}
OPTIONAL_BODY = sorted(
    op
    for op, (_, _, o) in OPERATIONS.items()
    if o.get("requestBody", {"required": True}).get("required") is False
)


@pytest.mark.parametrize("op", OPTIONAL_BODY)
async def test_a_body_the_document_makes_optional_can_be_left_out(op: str) -> None:
    """No body and no content type (``curl -X POST``) is a request like any other."""
    async with running() as run:
        r = await send(run, op, content=b"")
        assert "content-type" not in r.request.headers, r.request.headers
        assert problem(r)[1] not in INPUT_PROBLEMS, r.text


async def test_erasing_a_subject_never_checked_is_the_documented_success() -> None:
    """Erasure is idempotent: no record is no problem, and the answer has the documented fields."""
    schema = DOC["components"]["schemas"]["EraseResponse"]
    async with running() as run:
        r = await send(run, "eraseSubject", Refs(subject="never-checked"))
        assert r.status_code == 200, r.text
        assert set(r.json()) == set(schema["properties"]) == set(schema["required"])
        assert r.json() == {"erased": True, "found": False}


def test_every_scenario_is_for_a_documented_code() -> None:
    assert set(SCENARIOS) <= {code for _, _, code in DOCUMENTED}


def test_the_document_declares_problems_and_security_of_its_own() -> None:
    """The checks above need something to check: every secured operation and business errors."""
    codes = {code for _, _, code in DOCUMENTED}
    assert {"unauthorized", "unknown_jurisdiction", "invalid_cursor", "validation_failed"} <= codes
    assert OPTIONAL_BODY == ["reloadPolicy", "reloadSigningKeys"]
    public = {op for op, (_, _, o) in OPERATIONS.items() if "security" not in o}
    assert public == {
        "getJwks", "getAuditKeys", "healthz", "readyz", "getMetrics", "getPrivacyInventory", "oidcCallback",
        "getRequestObject", "postRequestObject", "postWalletResponse",  # the wallet's side of OpenID4VP
        "authzenConfiguration",  # AuthZEN metadata, public like every well-known document
    }  # fmt: skip
    admin = {op for op, (_, _, o) in OPERATIONS.items() if o.get("security") == [{"adminKey": []}]}
    assert admin == {"advanceClock", "reloadSigningKeys", "reloadPolicy"}
    assert DOC["components"]["securitySchemes"]["adminKey"] == {
        "type": "http", "scheme": "bearer", "description": "An admin credential (clients file: admins)."
    }  # fmt: skip
