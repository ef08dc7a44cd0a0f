"""Trusted connections: one user opens with their token, the other confirms with theirs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.api.deps import JsonCallerDep
from service.api.responses import raises
from service.flows import connections as flow
from service.flows.errors import ConnectionInvalid, InvalidPartyToken, TrustedNotAvailable
from service.policy.errors import UnknownJurisdiction
from service.store.errors import StoreUnavailable

router = APIRouter(prefix="/v1/connections", tags=["connections"])
Token = Annotated[str, StringConstraints(min_length=1, max_length=8192)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Nonce = Annotated[str, StringConstraints(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenRequest(_Strict):
    jurisdiction: Code
    token: Token = Field(description="The age-band token of the user who opens the connection.")


class OpenOut(BaseModel):
    nonce: str = Field(description="The pair nonce: pass it to the other user's session to confirm.")
    expires_at: datetime


class ConfirmRequest(_Strict):
    jurisdiction: Code
    token: Token = Field(description="The age-band token of the other user.")
    nonce: Nonce


class ConfirmOut(BaseModel):
    confirmed: Literal[True] = True


@router.post("", status_code=201)
@raises(UnknownJurisdiction, TrustedNotAvailable, InvalidPartyToken, StoreUnavailable)
async def open_connection(body: OpenRequest, caller: JsonCallerDep) -> OpenOut:
    """Open a trusted connection for the user whose token this is (opening is their confirmation).
    The app hears of it by webhook (``subject.connection_opened``, naming that user)."""
    opened = await flow.open_connection(caller.svc.connections, caller.client, body.jurisdiction, body.token)
    return OpenOut(nonce=opened.nonce, expires_at=opened.expires_at)


@router.post("/confirm")
@raises(UnknownJurisdiction, TrustedNotAvailable, InvalidPartyToken, ConnectionInvalid, StoreUnavailable)
async def confirm_connection(body: ConfirmRequest, caller: JsonCallerDep) -> ConfirmOut:
    """The other user confirms the connection with their token and the pair nonce. Decisions
    between the two may then pass ``relationship: {type: trusted, nonce}``."""
    await flow.confirm_connection(
        caller.svc.connections, caller.client, body.jurisdiction, body.token, body.nonce
    )
    return ConfirmOut()
