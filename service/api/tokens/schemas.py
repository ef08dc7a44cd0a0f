from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.api.checks.schemas import SubjectBody


class RefreshRequest(SubjectBody):
    """Refresh by the sid the app keeps, or by its own subject reference."""


class RevokeRequest(SubjectBody):
    pass


# RFC 7662 allows token_type_hint and extensions; more fields than this are refused unread.
MAX_INTROSPECT_FIELDS = 10


class IntrospectRequest(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"maxProperties": MAX_INTROSPECT_FIELDS})
    token: Annotated[str, StringConstraints(min_length=1)]


class IntrospectResponse(BaseModel):
    """RFC 7662: ``active`` always; the token's claims only when active."""

    model_config = ConfigDict(extra="allow")
    active: bool


class RevokeResponse(BaseModel):
    revoked: bool = Field(description="Outstanding tokens are void and the record is gone.")


class EraseResponse(BaseModel):
    erased: bool = Field(description="Always true: nothing of the subject is stored any more.")
    found: bool = Field(
        description="Whether a record or check of the subject was still stored: false on a "
        "repeated erasure, or for a subject this client never checked."
    )
