from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from service.api.checks.schemas import (
    CheckResponse,
    EvidenceRequest,
    EvidenceResponse,
    StartCheckRequest,
    StartCheckResponse,
)
from service.api.deps import CallerDep, JsonCallerDep
from service.flows import checks as flow
from service.flows.subjects import SubjectRef

router = APIRouter(prefix="/v1/checks", tags=["checks"])
CheckId = Annotated[str, Path(max_length=64, description="The check id from POST /v1/checks.")]


@router.post("", status_code=201)
async def start_check(body: StartCheckRequest, caller: JsonCallerDep) -> StartCheckResponse:
    """Start an age check for a subject; the policy picks the methods."""
    started = await flow.start_check(
        caller.svc,
        caller.client,
        SubjectRef(body.subject, body.sid),
        body.jurisdiction,
        body.purpose,
        caller.locale,
    )
    return StartCheckResponse.of(started)


@router.get("/{check_id}")
async def get_check(check_id: CheckId, caller: CallerDep) -> CheckResponse:
    """The check's state: status, methods tried, attempts left, what comes next."""
    return CheckResponse.of(await flow.get_check(caller.svc, caller.client, check_id, caller.locale))


@router.post("/{check_id}/evidence")
async def submit_evidence(
    check_id: CheckId, body: EvidenceRequest, request: Request, caller: JsonCallerDep
) -> EvidenceResponse:
    """Submit evidence for one method. The evidence is used for this call only, then dropped."""
    size = len(await request.body())
    evidence = dict(body.model_extra or {})
    if body.model_extra:
        body.model_extra.clear()  # the flow owns the only copy and drops it after the provider
    result = await flow.submit_evidence(
        caller.svc, caller.client, check_id, body.method, evidence, size, caller.locale
    )
    return EvidenceResponse.of(result)
