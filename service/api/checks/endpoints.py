from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request

from providers.errors import ProviderBadResponse, ProviderUnavailable
from service.api.checks.schemas import (
    CheckResponse,
    EvidenceRequest,
    EvidenceResponse,
    StartCheckRequest,
    StartCheckResponse,
)
from service.api.checks.uploads import UPLOAD_BODY, read_upload
from service.api.deps import CallerDep, JsonCallerDep
from service.api.errors import MalformedUpload, UnsupportedMediaType
from service.api.responses import Errors, raises
from service.core.errors import TooManyAttempts
from service.flows import abuse, check_evidence, evidence_errors, pages
from service.flows import checks as flow
from service.flows.errors import (
    AppealsNotOffered,
    CheckBusy,
    CheckClosed,
    CheckExpired,
    InvalidReturnUrl,
    JurisdictionNotAllowed,
    MethodNotAllowed,
    MethodUnavailable,
    NoMethodAvailable,
    ProviderFailed,
    RateLimited,
    ReturnUrlNotAllowed,
    StrongerMethodRequired,
    SubjectLocked,
    UnknownCheck,
    UnknownMethod,
    UnknownSubject,
)
from service.flows.subjects import SubjectRef
from service.policy.errors import UnknownJurisdiction
from service.store.errors import StoreUnavailable

router = APIRouter(prefix="/v1/checks", tags=["checks"])
DeviceHeader = Annotated[
    str | None,
    Header(alias="Ageband-Device", max_length=256, description="The user's device id, as the app knows it."),
]
ClientIpHeader = Annotated[
    str | None, Header(alias="Ageband-Client-IP", max_length=64, description="The user's IP address.")
]
CheckId = Annotated[str, Path(max_length=64, description="The check id from POST /v1/checks.")]
# What one submission can answer besides its input's problems, JSON or multipart alike.
SUBMISSION: Errors = (
    UnknownCheck, CheckExpired, CheckClosed, CheckBusy, UnknownMethod, MethodNotAllowed, MethodUnavailable,
    TooManyAttempts, SubjectLocked, RateLimited, *evidence_errors.KINDS, ProviderFailed, ProviderUnavailable,
    ProviderBadResponse, StoreUnavailable,
)  # fmt: skip


# What a client does next with a started check (OpenAPI links: stateful tests follow them too).
_CHECK_ID = {"parameters": {"check_id": "$response.body#/check_id"}}
_SID = {"requestBody": {"sid": "$response.body#/sid"}}
STARTED_LINKS = {
    "GetCheck": {"operationId": "getCheck", **_CHECK_ID},
    "SubmitEvidence": {"operationId": "submitEvidence", **_CHECK_ID},
    "UploadEvidence": {"operationId": "uploadEvidence", **_CHECK_ID},
    "RefreshToken": {"operationId": "refreshToken", **_SID},
    "RevokeSubject": {"operationId": "revokeSubject", **_SID},
    "EraseSubject": {"operationId": "eraseSubject", **_SID},
}


@router.post(
    "", status_code=201, responses={201: {"description": "The check started.", "links": STARTED_LINKS}}
)
@raises(
    InvalidReturnUrl, ReturnUrlNotAllowed, UnknownJurisdiction, JurisdictionNotAllowed,
    UnknownSubject, SubjectLocked, StrongerMethodRequired, NoMethodAvailable, AppealsNotOffered,
    StoreUnavailable,
)  # fmt: skip
async def create_check(
    body: StartCheckRequest, request: Request, caller: JsonCallerDep, device: DeviceHeader = None
) -> StartCheckResponse:
    """Start an age check for a subject, or without one (anonymous: no record is kept, and the
    token names a one-time pseudonym); the policy picks the methods.

    With a ``return_url``, the answer holds a ``check_url``: the hosted check page, where the user
    proves their age and from which they come back to the ``return_url`` with ``check_id`` and
    ``state``. Relay the user's device id in ``Ageband-Device``: a lock on that device (from
    another account's sanction) refuses the check too. Only its keyed hash is kept."""
    pages.check_return_url(caller.client, body.return_url)  # before anything is stored
    started = await flow.start_check(
        caller.svc.checks,
        caller.client,
        SubjectRef(body.subject, body.sid),
        body.jurisdiction,
        body.purpose,
        caller.locale,
        origin=abuse.origin_of(caller.svc.pepper, caller.client.id, device, None),
    )
    if body.return_url is None:
        return StartCheckResponse.of(started)
    page = caller.svc.pages
    link = await pages.make_link(
        page, caller.client, started.check_id, started.expires_at, body.return_url, body.state or "",
        page.public_url or str(request.base_url),
    )  # fmt: skip
    return StartCheckResponse.of(started, link.url)


@router.get("/{check_id}")
@raises(UnknownCheck, CheckExpired, StoreUnavailable)
async def get_check(check_id: CheckId, caller: CallerDep) -> CheckResponse:
    """The check's state: status, methods tried, attempts left, what comes next; for an anonymous
    check that passed on the hosted page, its one-time token, in the first answer only."""
    view = await flow.get_check(caller.svc.checks, caller.client, check_id, caller.locale, take_token=True)
    return CheckResponse.of(view)


@router.post("/{check_id}/evidence")
@raises(*SUBMISSION)
async def submit_evidence(
    check_id: CheckId,
    body: EvidenceRequest,
    request: Request,
    caller: JsonCallerDep,
    device: DeviceHeader = None,
    client_ip: ClientIpHeader = None,
) -> EvidenceResponse:
    """Submit evidence for one method. The evidence is used for this call only, then dropped.

    Relay the user's device id and IP in ``Ageband-Device`` and ``Ageband-Client-IP``: they
    count towards the policy's per-device and per-IP limits as keyed hashes, never stored raw."""
    size = len(await request.body())
    evidence = dict(body.model_extra or {})
    if body.model_extra:
        body.model_extra.clear()  # the flow owns the only copy and drops it after the provider
    origin = abuse.origin_of(caller.svc.pepper, caller.client.id, device, client_ip)
    result = await check_evidence.submit_evidence(
        caller.svc.checks, caller.client, check_id, body.method, evidence, size, caller.locale, origin=origin
    )
    return EvidenceResponse.of(result)


@router.post("/{check_id}/evidence/upload", openapi_extra={"requestBody": UPLOAD_BODY})
@raises(MalformedUpload, UnsupportedMediaType, *SUBMISSION)
async def upload_evidence(
    check_id: CheckId,
    request: Request,
    caller: CallerDep,
    device: DeviceHeader = None,
    client_ip: ClientIpHeader = None,
) -> EvidenceResponse:
    """Submit evidence as ``multipart/form-data``: a ``method`` part, the photo as an ``image``
    file part, other fields as text parts. Same outcomes as the JSON evidence endpoint; the
    upload is held in memory only and dropped after the provider call."""
    upload = await read_upload(request)
    origin = abuse.origin_of(caller.svc.pepper, caller.client.id, device, client_ip)
    result = await check_evidence.submit_evidence(
        caller.svc.checks, caller.client, check_id, upload.method, upload.evidence, upload.size,
        caller.locale, origin=origin,
    )  # fmt: skip
    return EvidenceResponse.of(result)
