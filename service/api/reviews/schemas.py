from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from service.api.checks.schemas import SubjectBody

LevelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
RecheckReason = Literal[
    "reported_adult_posing_as_minor", "reported_minor_posing_as_adult", "moderator_request"
]


class RecheckRequestBody(SubjectBody):
    """Demand a re-check of one of your subjects."""

    reason: RecheckReason = Field(
        description="Why: your users reported an adult posing as a minor, or a minor posing as an "
        "adult, or your moderators ask for it."
    )
    min_level: LevelName | None = Field(
        default=None,
        description="The level the re-check must establish (default: the policy's "
        "recheck_requests.min_level); never below the policy's.",
    )
    deadline: datetime | None = Field(
        default=None,
        description="When it must be done, with a time zone (default: the policy's "
        "recheck_requests.deadline from now; at most its max_deadline).",
    )


class RecheckRequestOut(BaseModel):
    sid: str
    reason: RecheckReason
    min_level: str = Field(description="The level the re-check must establish.")
    requested_at: datetime
    deadline: datetime = Field(description="After it, the policy's recheck_missed sanction applies.")
    status: Literal["pending"] = "pending"
