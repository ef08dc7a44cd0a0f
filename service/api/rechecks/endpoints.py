from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from service.api.deps import CallerDep, known_query
from service.api.responses import raises
from service.flows import rechecks as flow
from service.store.codec import DUE_CURSOR
from service.store.errors import InvalidCursor, StoreUnavailable

router = APIRouter(prefix="/v1/rechecks", tags=["rechecks"])


class DueItem(BaseModel):
    sid: str
    recheck_at: date


class DueResponse(BaseModel):
    items: list[DueItem]
    next_cursor: str | None


@router.get("/due", dependencies=[known_query("before", "cursor", "limit")])
@raises(InvalidCursor, StoreUnavailable)
async def list_due_rechecks(
    caller: CallerDep,
    before: Annotated[
        date | None, Query(description="Re-check dates before this day (default: today).")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The previous page's next_cursor (treat it as opaque; every string of this "
            "form names a position, anything else is invalid_cursor).",
            json_schema_extra={"pattern": DUE_CURSOR},
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=flow.MAX_PAGE)] = 100,
) -> DueResponse:
    """Your subjects whose re-check is due, oldest first, a page at a time."""
    page = await flow.due(caller.svc.store.records, caller.svc.clock, caller.client, before, cursor, limit)
    return DueResponse(
        items=[DueItem(sid=e.sid, recheck_at=e.recheck_at) for e in page.entries],
        next_cursor=page.cursor,
    )
