from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import NO_BODY, AdminActionDep, AdminDep
from service.api.responses import raises
from service.flows.errors import DevClockDisabled, KeysNotReloadable, KeysRejected
from service.flows.key_reload import reload_keys

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class AdvanceClock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance: timedelta = Field(
        description="ISO 8601 duration, e.g. P400D.", ge=timedelta(0), le=timedelta(days=3660)
    )


class ClockState(BaseModel):
    now: datetime
    offset_seconds: float


@router.post("/clock")
@raises(DevClockDisabled)
async def advance_clock(body: AdvanceClock, caller: AdminDep) -> ClockState:
    """Demo only (``--dev-clock``): move the service clock forward to see re-checks come due."""
    svc = caller.svc
    if svc.dev_clock is None:
        raise DevClockDisabled("start the service with --dev-clock to use this")
    svc.dev_clock.advance(body.advance)
    return ClockState(now=svc.dev_clock.now(), offset_seconds=svc.dev_clock.offset.total_seconds())


class KeysReloadOut(BaseModel):
    active_kid: str
    kids: list[str]
    changed: bool


@router.post("/keys/reload", openapi_extra={"requestBody": NO_BODY})
@raises(KeysNotReloadable, KeysRejected)
async def reload_signing_keys(caller: AdminActionDep) -> KeysReloadOut:
    """Re-read the key manifest now (also done on file change and SIGHUP). All or nothing."""
    done = reload_keys(caller.svc.keyring, caller.svc.keys_file, "admin")
    return KeysReloadOut(active_kid=done.active, kids=done.kids, changed=done.changed)
