"""Requests for every operation of openapi.yaml, for the contract tests.

``Refs`` holds what a request refers to (a check, a subject, a token, a callback's state), made
by earlier requests. ``send`` builds an operation's request from the document (method, path,
the credential its security names) and a sample of valid input, with any part overridden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from answers import load_document
from factories import ADMIN, AUTH, ROOT, Running

DOC = load_document(ROOT / "openapi.yaml")
OPERATIONS: dict[str, tuple[str, str, dict[str, Any]]] = {
    op["operationId"]: (method.upper(), path, op)
    for path, ops in DOC["paths"].items()
    for method, op in ops.items()
}
CREDENTIALS = {"apiKey": AUTH, "adminKey": ADMIN}
RETURN = "https://app.example/age-check/done"
ORIGIN = "https://app.example"  # a page that asks over the Digital Credentials API
ADULT = {"method": "self_declaration", "birth_year": 1990}
UNKNOWN_STATUS = {"method": "os_signal", "source": "google_play", "user_status": "UNKNOWN"}
NO_CHECK = "chk_nope"
SEARCHED = {"type": "account", "properties": {"candidates": [{"id": "t1", "band": "18_plus"}]}}
NO_CONTENT = "cnt_" + "A" * 43
NO_SID = "sid_" + "A" * 43
MEDIA = "sha256:" + "0" * 64


@dataclass
class Refs:
    check_id: str = NO_CHECK
    subject: str = "user-1"
    token: str = "not-a-token"
    method: str = "self_declaration"  # the presentation request's method
    provider: str = "bank"  # the redirect method of the OIDC routes
    state: str = "not-a-state"
    content_id: str = NO_CONTENT
    sid: str = NO_SID  # a depicted person or uploader


def sample(op_id: str, refs: Refs) -> dict[str, Any]:
    """A valid request's input for the operation: ``json``, ``files`` (a multipart form), ``params``."""
    # The actor by its token once the refs hold a real one, else by a band.
    party = {"token": refs.token} if refs.token != Refs.token else {"band": "18_plus"}
    decision = {"action": "profile.view", "jurisdiction": "default", "actor": party}
    samples: dict[str, dict[str, Any]] = {
        "decide": {"json": {**decision, "target": {"band": "18_plus"}}},
        "decideBatch": {"json": {**decision, "targets": [{"id": "t1", "band": "18_plus"}]}},
        "accessEvaluation": {"json": evaluation(party)},
        "accessEvaluations": {"json": {"evaluations": [evaluation(party)]}},
        "searchResource": {"json": {**evaluation(party), "resource": SEARCHED}},
        "refreshToken": {"json": {"subject": refs.subject}},
        "introspectToken": {"json": {"token": refs.token}},
        "revokeSubject": {"json": {"subject": refs.subject}},
        "eraseSubject": {"json": {"subject": refs.subject}},
        "requestRecheck": {"json": {"subject": refs.subject, "reason": "moderator_request"}},
        "createGuardianCode": {"json": {"subject": refs.subject}},
        "openConnection": {"json": {"jurisdiction": "default", "token": refs.token}},
        "confirmConnection": {"json": {"jurisdiction": "default", "token": refs.token, "nonce": "n" * 32}},
        "confirmAsGuardian": {"json": {"subject": refs.subject, "code": "ABCDE-FGHJK"}},
        "createCheck": {"json": {"subject": refs.subject, "jurisdiction": "default"}},
        "submitEvidence": {"json": ADULT},
        "uploadEvidence": {"files": form({"method": "self_declaration", "birth_year": "1990"})},
        "advanceClock": {"json": {"advance": "P1D"}},
        "reloadSigningKeys": {"json": {}},
        "reloadPolicy": {"json": {}},
        "startOidcLogin": {"params": {"return_url": RETURN}},
        "oidcCallback": {"params": {"state": refs.state, "code": "not-a-code"}},
        "createDcApiRequest": {"json": {"origin": ORIGIN}},
        "submitDcApiResponse": {
            "json": {"origin": ORIGIN, "protocol": "openid4vp-v1-unsigned", "data": {"vp_token": {}}}
        },
        "postRequestObject": {"data": {"wallet_nonce": "wallet-nonce"}},
        "postWalletResponse": {"data": {"vp_token": "{}", "state": "not-a-state"}},
        "registerContent": {
            "json": {
                "reference": "video-1",
                "content_hash": MEDIA,
                "recorded": "2025-06",
                "depicted": [refs.sid],
                "uploader": refs.sid,
                "jurisdiction": "default",
            }
        },
        "consentToContent": {"json": {"token": refs.token, "content_hash": MEDIA}},
        "withdrawContentConsent": {"json": {"token": refs.token}},
        "requestContentRemoval": {"json": {"token": refs.token}},
        "reviewContent": {"json": {"frames": ["AAAA"]}},
    }
    return samples.get(op_id, {})


def evaluation(party: dict[str, str]) -> dict[str, Any]:
    """An AuthZEN evaluation: the actor as subject, an adult account as resource."""
    return {
        "subject": {"type": "user", "id": "u1", "properties": party},
        "action": {"name": "profile.view"},
        "resource": {"type": "account", "id": "t1", "properties": {"band": "18_plus"}},
        "context": {"jurisdiction": "default"},
    }


def form(fields: dict[str, str], **files: bytes) -> dict[str, Any]:
    """Multipart parts: text fields, and file parts given as bytes."""
    parts: dict[str, Any] = {name: (None, value) for name, value in fields.items()}
    parts.update({name: (f"{name}.bin", data, "application/octet-stream") for name, data in files.items()})
    return parts


def credential(op_id: str) -> dict[str, str]:
    """The headers of the credential the operation's security names (none when public)."""
    schemes = [name for requirement in OPERATIONS[op_id][2].get("security", []) for name in requirement]
    return {k: v for name in schemes for k, v in CREDENTIALS[name].items()}


def url(op_id: str, refs: Refs, **path: str) -> str:
    template = OPERATIONS[op_id][1]
    values = {
        "check_id": refs.check_id, "method": refs.method, "provider": refs.provider,
        "content_id": refs.content_id, **path,
    }  # fmt: skip
    return template.format(**values)


async def send(
    run: Running,
    op_id: str,
    refs: Refs | None = None,
    *,
    headers: dict[str, str] | None = None,
    path: dict[str, str] | None = None,
    **given: Any,
) -> httpx.Response:
    """The operation's request: its sample input, with a body (``json``, ``files``, raw ``content``)
    or ``params`` given instead, and the credential's headers unless ``headers`` is given."""
    refs = refs or Refs()
    method = OPERATIONS[op_id][0]
    base = sample(op_id, refs)
    if given.keys() & {"json", "files", "content"}:
        base = {k: v for k, v in base.items() if k == "params"}
    sent = credential(op_id) if headers is None else headers
    return await run.http.request(method, url(op_id, refs, **(path or {})), headers=sent, **{**base, **given})


def problem(r: httpx.Response) -> tuple[int, str]:
    """The status and code of a problem document (the code is empty for any other answer)."""
    is_problem = r.headers.get("content-type", "").startswith("application/problem+json")
    return r.status_code, json.loads(r.content)["code"] if is_problem else ""
