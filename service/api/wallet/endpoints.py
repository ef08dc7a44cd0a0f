"""OpenID4VP 1.0 endpoints for wallet methods.

The app's (or hosted page's) side, with its API key: the links for a wallet on this device or
another (``request_uri`` and a QR code's content), and the Digital Credentials API request and
response. The wallet's side, without a key (the check's nonce and state authenticate what it
sends): the signed request object and the ``direct_post``/``direct_post.jwt`` response endpoint.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from providers.base import WalletProvider
from service.api.checks.schemas import EvidenceResponse
from service.api.deps import CallerDep, JsonCallerDep, ServicesDep
from service.api.responses import raises
from service.core.errors import InvalidEvidence
from service.flows import wallet as flow
from service.flows.errors import (
    CheckClosed,
    CheckExpired,
    InvalidWalletResponse,
    MethodNotAllowed,
    MethodUnavailable,
    OriginNotAllowed,
    UnknownCheck,
    UnknownMethod,
    WalletUnavailable,
)
from service.store.errors import StoreUnavailable

wallet_api_router = APIRouter(prefix="/v1/checks", tags=["checks"])
router = APIRouter(prefix="/v1/wallet", tags=["wallet"])
CheckId = Annotated[str, Path(max_length=64, description="The check id from POST /v1/checks.")]
MethodName = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Origin = Annotated[
    str, Field(max_length=256, pattern=r"^https?://[^/?#]+$", description="The page's web origin.")
]
REQUEST_ERRORS = (
    UnknownCheck, CheckExpired, CheckClosed, UnknownMethod, MethodNotAllowed, MethodUnavailable,
    WalletUnavailable, StoreUnavailable,
)  # fmt: skip
RESPONSE_ERRORS = tuple(e for e in REQUEST_ERRORS if e is not WalletUnavailable)
_FORM_FIELDS = ("vp_token", "state", "response", "error", "error_description", "wallet_nonce")
_NO_STORE = {"cache-control": "no-store"}


def _form_body(fields: dict[str, str], one_of: tuple[str, ...] = ()) -> dict[str, Any]:
    """The wallet's form (OpenID4VP 1.0), as the document states it; ``_form`` reads it. Only
    these fields are read (a few others are ignored, many refused: the document names these
    alone); ``one_of``: the fields of which the form must carry at least one."""
    props = {name: {"type": "string", "description": text} for name, text in fields.items()}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
    if one_of:
        schema["anyOf"] = [{"required": [name]} for name in one_of]
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}


_REQUEST_FORM = _form_body(
    {"wallet_nonce": "A fresh value of the wallet's, echoed in the request object (replay protection)."},
)
_RESPONSE_FORM = _form_body(
    {
        "vp_token": "The presentations, as JSON (direct_post).",
        "state": "The request's state, echoed.",
        "response": "A JWE to the check's key holding vp_token and state (direct_post.jwt).",
        "error": "The wallet's error code, when the user declined.",
        "error_description": "Its text.",
    },
    one_of=("state", "response"),  # direct_post carries the state; direct_post.jwt the JWE
)


class WalletLinksResponse(BaseModel):
    authorization_request: str = Field(
        description="An openid4vp:// link: open it on this device, or show it as a QR code for another."
    )
    request_uri: str | None = Field(
        description="Where the wallet fetches the signed request object (None: passed by value)."
    )
    response_mode: Literal["direct_post", "direct_post.jwt"]


class DcApiRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    origin: Origin
    signed: bool | None = Field(
        default=None, description="A signed request (default: signed when the method signs requests)."
    )
    encrypted: bool = Field(default=True, description="dc_api.jwt: the response encrypted to this check.")


class DcApiRequestResponse(BaseModel):
    digital: dict[str, Any] = Field(description="Pass as navigator.credentials.get({digital: ...}).")


class DcApiResponseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: str | None = Field(default=None, max_length=64)
    origin: Origin
    protocol: str = Field(max_length=64, description="The DigitalCredential's protocol.")
    data: dict[str, Any] = Field(description="The DigitalCredential's data, as the browser gave it.")


class WalletResponseAck(BaseModel):
    outcome: str = Field(description="passed, inconclusive, failed, or declined (the user said no).")


# The values the wallet may ask for, in the document; any other is refused as
# invalid_wallet_response (the wallet's own error channel), not as a schema failure.
_RESPONSE_MODES: dict[str, Any] = {"enum": ["direct_post", "direct_post.jwt"]}


@wallet_api_router.get("/{check_id}/presentation/{method}/wallet")
@raises(*REQUEST_ERRORS)
async def get_wallet_links(
    check_id: CheckId,
    method: MethodName,
    caller: CallerDep,
    encrypted: Annotated[bool, Query(description="direct_post.jwt (true) or direct_post.")] = True,
) -> WalletLinksResponse:
    """Links for the user's wallet: same device (open the link) or cross device (a QR code of it).
    The wallet answers ageband directly; poll the check for the outcome."""
    links = await flow.wallet_links(caller.svc.wallet, caller.client, check_id, method, encrypted)
    return WalletLinksResponse(
        authorization_request=links.authorization_request,
        request_uri=links.request_uri,
        response_mode="direct_post.jwt" if links.response_mode == flow.DIRECT_POST_JWT else "direct_post",
    )


@wallet_api_router.post("/{check_id}/presentation/{method}/dc-api")
@raises(*REQUEST_ERRORS, OriginNotAllowed)
async def create_dc_api_request(
    check_id: CheckId, method: MethodName, body: DcApiRequestBody, caller: JsonCallerDep
) -> DcApiRequestResponse:
    """The request for the W3C Digital Credentials API (OpenID4VP 1.0 Annex A), for a page at
    ``origin`` (one of the method's configured origins)."""
    provider = caller.svc.providers.get(method)
    signs = isinstance(provider, WalletProvider) and provider.signs_requests
    signed = signs if body.signed is None else body.signed
    digital = await flow.dc_api_request(
        caller.svc.wallet, caller.client, check_id, method, body.origin, signed, body.encrypted
    )
    return DcApiRequestResponse(digital=digital)


@wallet_api_router.post("/{check_id}/presentation/{method}/dc-api/response")
@raises(*RESPONSE_ERRORS, OriginNotAllowed, InvalidWalletResponse, InvalidEvidence)
async def submit_dc_api_response(
    check_id: CheckId, method: MethodName, body: DcApiResponseBody, request: Request, caller: JsonCallerDep
) -> EvidenceResponse:
    """Verify what ``navigator.credentials.get`` returned (``protocol`` and ``data``). A protocol
    ageband does not speak fails the attempt as ``unsupported_handover``, never as circumvention."""
    size = len(await request.body())
    result = await flow.dc_api_response(
        caller.svc.wallet, caller.client, check_id, method, body.origin, body.protocol, body.data, size,
        caller.locale,
    )  # fmt: skip
    return EvidenceResponse.of(result)


@router.get(
    "/{method}/{check_id}/request",
    response_class=Response,
    responses={200: {"content": {"application/oauth-authz-req+jwt": {"schema": {"type": "string"}}}}},
)
@raises(*REQUEST_ERRORS, InvalidWalletResponse)
async def get_request_object(
    method: MethodName,
    check_id: CheckId,
    svc: ServicesDep,
    response_mode: Annotated[
        str, Query(max_length=32, json_schema_extra=_RESPONSE_MODES)
    ] = flow.DIRECT_POST_JWT,
) -> Response:
    """The check's signed request object (JAR), for a wallet following ``request_uri``."""
    jwt = await flow.request_object(svc.wallet, method, check_id, response_mode, None)
    return Response(jwt, media_type="application/oauth-authz-req+jwt", headers=_NO_STORE)


@router.post(
    "/{method}/{check_id}/request",
    response_class=Response,
    responses={200: {"content": {"application/oauth-authz-req+jwt": {"schema": {"type": "string"}}}}},
    openapi_extra={"requestBody": _REQUEST_FORM},
)
@raises(*REQUEST_ERRORS, InvalidWalletResponse)
async def post_request_object(
    method: MethodName,
    check_id: CheckId,
    request: Request,
    svc: ServicesDep,
    response_mode: Annotated[
        str, Query(max_length=32, json_schema_extra=_RESPONSE_MODES)
    ] = flow.DIRECT_POST_JWT,
) -> Response:
    """``request_uri_method=post``: the request object with the wallet's ``wallet_nonce``."""
    form = await _form(request)
    jwt = await flow.request_object(svc.wallet, method, check_id, response_mode, form.get("wallet_nonce"))
    return Response(jwt, media_type="application/oauth-authz-req+jwt", headers=_NO_STORE)


@router.post("/{method}/{check_id}/response")
@raises(*REQUEST_ERRORS, InvalidWalletResponse, InvalidEvidence)
async def post_wallet_response(
    method: MethodName, check_id: CheckId, request: Request, svc: ServicesDep
) -> WalletResponseAck:
    """The wallet's response (``application/x-www-form-urlencoded``): ``vp_token`` and ``state``
    (direct_post) or ``response``, a JWE to the check's key (direct_post.jwt)."""
    size = len(await request.body())  # read first: the form is parsed from the kept body
    form = await _form(request)
    outcome = await flow.direct_post(svc.wallet, method, check_id, form, size)
    return WalletResponseAck(outcome=outcome)


async def _form(request: Request) -> dict[str, str]:
    if not await request.body():
        return {}  # an empty form, as a client that sends no fields may send it (no content type)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise InvalidWalletResponse("the body must be application/x-www-form-urlencoded")
    try:
        form = await request.form(max_files=0, max_fields=len(_FORM_FIELDS) + 4)
    except MultiPartException:
        raise InvalidWalletResponse("the body is not a well-formed form") from None
    out: dict[str, str] = {}
    for name, value in form.multi_items():
        if name not in _FORM_FIELDS:
            continue
        if isinstance(value, UploadFile) or name in out:
            raise InvalidWalletResponse("each field once, as text", field=name)
        out[name] = value
    return out
