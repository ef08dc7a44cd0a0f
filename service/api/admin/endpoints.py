from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import NO_BODY, AdminActionDep, AdminDep
from service.api.responses import raises
from service.flows.errors import DevClockDisabled, KeysNotReloadable, KeysRejected
from service.flows.key_reload import reload_keys

router = APIRouter(prefix="/v1/admin", tags=["admin"])


# Days and a time part, each with few enough digits that the sum stays under ten years:
# the document states every bound the service keeps (at most 999 days + 9999 h + ...).
_TIME = r"T(?:\d{1,4}H(?:\d{1,5}M)?(?:\d{1,6}S)?|\d{1,5}M(?:\d{1,6}S)?|\d{1,6}S)"
DURATION = rf"^P(?:\d{{1,3}}D(?:{_TIME})?|{_TIME})$"
_PARTS = re.compile(r"(\d+)([DHMS])")
_UNIT = {"D": "days", "H": "hours", "M": "minutes", "S": "seconds"}


class AdvanceClock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance: str = Field(
        description="An ISO 8601 duration of days, hours, minutes and seconds, e.g. P400D or PT12H "
        "(at most 999 days and a time part).",
        pattern=DURATION,
    )

    def delta(self) -> timedelta:
        return timedelta(**{_UNIT[unit]: int(n) for n, unit in _PARTS.findall(self.advance)})


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
    svc.dev_clock.advance(body.delta())
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
