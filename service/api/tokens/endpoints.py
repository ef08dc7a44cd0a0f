from __future__ import annotations

import json
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from service.api.checks.schemas import TokenOut
from service.api.deps import CallerDep, JsonCallerDep
from service.api.errors import MalformedIntrospection, UnsupportedMediaType
from service.api.json_endpoints import json_payload, parse_body, request_body
from service.api.responses import raises
from service.api.tokens.schemas import (
    MAX_INTROSPECT_FIELDS,
    EraseResponse,
    IntrospectRequest,
    IntrospectResponse,
    RefreshRequest,
    RevokeRequest,
    RevokeResponse,
)
from service.flows import tokens as flow
from service.flows.errors import RecheckRequired, StrongerMethodRequired, SubjectLocked, UnknownSubject
from service.flows.subjects import SubjectRef
from service.store.errors import StoreUnavailable

router = APIRouter(tags=["tokens"])


@router.post("/v1/tokens/refresh", response_model=TokenOut, openapi_extra=request_body(RefreshRequest))
@raises(UnknownSubject, RecheckRequired, SubjectLocked, StrongerMethodRequired, StoreUnavailable)
async def refresh_token(request: Request, caller: JsonCallerDep) -> Response:
    """A fresh token while the record is valid; 409 ``recheck_required`` (with a new check) after grace,
    or while a sanction demands a higher level (then with its ``reason`` and ``consequence``)."""
    body = await parse_body(request, RefreshRequest)
    issued = await flow.refresh(
        caller.svc.tokens, caller.client, SubjectRef(body.subject, body.sid), caller.locale
    )
    return json_payload(TokenOut.payload(issued))


@router.post(
    "/v1/tokens/introspect",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": IntrospectRequest.model_json_schema()},
                "application/json": {"schema": IntrospectRequest.model_json_schema()},
            },
        }
    },
)
@raises(MalformedIntrospection, UnsupportedMediaType, StoreUnavailable)
async def introspect_token(request: Request, caller: CallerDep) -> IntrospectResponse:
    """RFC 7662 introspection: ``active`` is false for any token that is invalid, revoked or not yours."""
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if ctype == "application/x-www-form-urlencoded":
            fields = parse_qs(raw.decode("ascii"), strict_parsing=False, max_num_fields=MAX_INTROSPECT_FIELDS)
            data: object = {k: v[0] for k, v in fields.items()}
        elif ctype == "application/json":
            data = json.loads(raw)
        else:
            raise HTTPException(415)
        parsed = IntrospectRequest.model_validate(data)
    except (UnicodeDecodeError, ValueError, ValidationError, RecursionError):
        raise MalformedIntrospection("expected a 'token' parameter") from None
    if 1 + len(parsed.model_extra or ()) > MAX_INTROSPECT_FIELDS:  # the form's limit, for JSON too
        raise MalformedIntrospection(f"at most {MAX_INTROSPECT_FIELDS} parameters")
    result = await flow.introspect(caller.svc.tokens, caller.client, parsed.token)
    return IntrospectResponse(active=result.active, **(result.claims or {}))


@router.post("/v1/subjects/revoke")
@raises(UnknownSubject, StoreUnavailable)
async def revoke_subject(body: RevokeRequest, caller: JsonCallerDep) -> RevokeResponse:
    """Void every outstanding token of a subject and drop its record."""
    await flow.revoke(caller.svc.removal, caller.client, SubjectRef(body.subject, body.sid))
    return RevokeResponse(revoked=True)


@router.post("/v1/subjects/erase")
@raises(StoreUnavailable)
async def erase_subject(body: RevokeRequest, caller: JsonCallerDep) -> EraseResponse:
    """Erase a subject (e.g. on account deletion): everything stored of it goes, and its tokens
    fail introspection. Idempotent: erasing again answers 200 with ``found`` false."""
    found = await flow.erase(caller.svc.removal, caller.client, SubjectRef(body.subject, body.sid))
    return EraseResponse(erased=True, found=found)
