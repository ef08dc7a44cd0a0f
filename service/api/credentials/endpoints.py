"""The presentation request for a wallet: who asks, the check's nonce, what to present."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from service.api.deps import CallerDep
from service.api.responses import raises
from service.flows.errors import (
    CheckClosed,
    CheckExpired,
    MethodNotAllowed,
    MethodUnavailable,
    UnknownCheck,
    UnknownMethod,
)
from service.flows.presentation_requests import presentation_request
from service.store.errors import StoreUnavailable

router = APIRouter(prefix="/v1/checks", tags=["checks"])
CheckId = Annotated[str, Path(max_length=64, description="The check id from POST /v1/checks.")]
MethodName = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class PresentationRequestResponse(BaseModel):
    client_id: str = Field(description="The verifier's identifier: the audience the wallet binds to.")
    response_uri: str = Field(description="Part of the mdoc SessionTranscript (OpenID4VP handover).")
    nonce: str = Field(description="Bound to this check and method; a presentation for another fails.")
    formats: list[str] = Field(description="Accepted formats: mso_mdoc, dc+sd-jwt.")
    dcql_query: dict[str, Any] = Field(description="What to present, as an OpenID4VP DCQL query.")


@router.get("/{check_id}/presentation/{method}")
@raises(
    UnknownCheck, CheckExpired, CheckClosed, UnknownMethod, MethodNotAllowed, MethodUnavailable,
    StoreUnavailable,
)  # fmt: skip
async def get_presentation_request(
    check_id: CheckId, method: MethodName, caller: CallerDep
) -> PresentationRequestResponse:
    """What the app passes to its user's wallet before submitting the presentation as evidence."""
    req = await presentation_request(caller.svc.checks, caller.client, check_id, method)
    return PresentationRequestResponse.model_validate(dict(req))
