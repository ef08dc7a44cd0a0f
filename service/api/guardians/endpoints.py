"""Guardian confirmation: a code for the child, confirmed by a guardian of the same app."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from service.api.checks.schemas import SubjectBody
from service.api.deps import JsonCallerDep
from service.api.responses import raises
from service.flows import guardians as flow
from service.flows.errors import (
    GuardianCodeInvalid,
    GuardianLimitReached,
    GuardianNotAvailable,
    GuardianNotEligible,
    UnknownSubject,
)
from service.flows.subjects import SubjectRef
from service.store.errors import StoreUnavailable

router = APIRouter(prefix="/v1/guardians", tags=["guardians"])


class CodeRequest(SubjectBody):
    """The child the code is for."""


class CodeOut(BaseModel):
    code: str = Field(description="Show it to the child, for their guardian to enter. Used once.")
    expires_at: datetime


class ConfirmRequest(SubjectBody):
    """The guardian (``sid`` or ``subject``) and the code the child was shown."""

    code: Annotated[str, StringConstraints(min_length=6, max_length=32, pattern=r"^[A-Za-z0-9 -]+$")]


class ConfirmOut(BaseModel):
    sid: str = Field(description="The child's sid.")
    band: str = Field(description="The child's band, now confirmed from above.")
    upper_level: str = Field(description="The level its upper edge now counts as established at.")


@router.post("/codes", status_code=201)
@raises(UnknownSubject, GuardianNotAvailable, StoreUnavailable)
async def create_guardian_code(body: CodeRequest, caller: JsonCallerDep) -> CodeOut:
    """A one-time code for a child whose band a guardian may confirm (a minor band). Show it to the
    child; their guardian enters it in your app. Only a keyed hash of it is kept, until it expires."""
    issued = await flow.issue_code(caller.svc.guardians, caller.client, SubjectRef(body.subject, body.sid))
    return CodeOut(code=issued.code, expires_at=issued.expires_at)


@router.post("/confirm")
@raises(
    UnknownSubject, GuardianNotAvailable, GuardianNotEligible, GuardianCodeInvalid, GuardianLimitReached,
    StoreUnavailable,
)  # fmt: skip
async def confirm_as_guardian(body: ConfirmRequest, caller: JsonCallerDep) -> ConfirmOut:
    """The guardian confirms the child's band with the child's code. The guardian's own record must
    be an adult band at or above the policy's ``guardian.min_level``. The child's band then counts
    as confirmed at ``guardian_confirmed`` (its tokens carry ``upper_level``); only a keyed hash of
    both sids is kept, never who the guardian is."""
    done = await flow.confirm(
        caller.svc.guardians, caller.client, SubjectRef(body.subject, body.sid), body.code
    )
    return ConfirmOut(sid=done.sid, band=done.band, upper_level=done.upper_level)
