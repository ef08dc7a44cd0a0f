"""Re-checks apps demand of their own subjects (reports, moderators)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from service.api.deps import JsonCallerDep
from service.api.responses import raises
from service.api.reviews.schemas import RecheckRequestBody, RecheckRequestOut
from service.flows import recheck_requests as flow
from service.flows.errors import InvalidDeadline, UnknownLevel, UnknownSubject
from service.flows.subjects import SubjectRef
from service.store.errors import StoreUnavailable

router = APIRouter(tags=["subjects"])


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@router.post("/v1/subjects/recheck", status_code=202)
@raises(UnknownSubject, UnknownLevel, InvalidDeadline, StoreUnavailable)
async def request_recheck(body: RecheckRequestBody, caller: JsonCallerDep) -> RecheckRequestOut:
    """Demand a re-check of one of your subjects, with a reason code, a minimum level and a
    deadline. Until it is done, refresh answers tokens with ``recheck_due`` and the policy's
    ``pending_recheck`` view of the band, decisions on the subject's tokens apply it too, and the
    subject is in your due list; after the deadline the policy's ``recheck_missed`` sanction applies.
    Asking again keeps the stricter request (higher level, earlier deadline)."""
    request = await flow.request_recheck(
        caller.svc.requests,
        caller.client,
        SubjectRef(body.subject, body.sid),
        body.reason,
        body.min_level,
        body.deadline,
    )
    return RecheckRequestOut(
        sid=request.sid,
        reason=request.reason,
        min_level=request.min_level,
        requested_at=_at(request.requested_at),
        deadline=_at(request.deadline),
    )
