"""Adult content: register an item, each depicted person's consent, publishability, withdrawal,
removal requests, and the list of unpublishable items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from providers.errors import (
    ImageTooLarge,
    ImageTooManyPixels,
    ImageTooSmall,
    ImageUnreadable,
    UnsupportedImageType,
)
from service.api.content.schemas import (
    ConsentRequest,
    ContentOut,
    ListedOut,
    PersonTokenRequest,
    RegisterContentRequest,
    ReviewOut,
    ReviewRequest,
    UnpublishableResponse,
)
from service.api.deps import CallerDep, JsonCallerDep, known_query
from service.api.responses import raises
from service.flows import content as flow
from service.flows import content_review as review_flow
from service.flows.errors import (
    ConsentTokenStale,
    ConsentTokenUsed,
    ContentExists,
    ContentHashMismatch,
    ContentNotEnabled,
    InvalidConsentToken,
    InvalidRecordingMonth,
    JurisdictionNotAllowed,
    NotDepicted,
    ReviewUnavailable,
    UnknownContent,
    UnknownPerformer,
)
from service.policy.errors import UnknownJurisdiction
from service.store.content import LISTED_CURSOR
from service.store.errors import InvalidCursor, StoreUnavailable

router = APIRouter(prefix="/v1/content", tags=["content"])

ContentId = Annotated[str, Path(max_length=64, description="The content id from POST /v1/content.")]
PERSON_TOKEN = (
    ContentNotEnabled, UnknownContent, InvalidConsentToken, ConsentTokenStale, ConsentTokenUsed, NotDepicted,
    StoreUnavailable,
)  # fmt: skip
MAX_PAGE = 500


@router.post("", status_code=201)
@raises(
    ContentNotEnabled, UnknownJurisdiction, JurisdictionNotAllowed, InvalidRecordingMonth, UnknownPerformer,
    ContentExists, StoreUnavailable,
)  # fmt: skip
async def register_content(body: RegisterContentRequest, caller: JsonCallerDep) -> ContentOut:
    """Register an item of adult content: its recording month and everyone it needs (by sid)."""
    status = await flow.register(
        caller.svc.content, caller.client, reference=body.reference, content_hash=body.content_hash,
        recorded=body.recorded, depicted=list(body.depicted), uploader=body.uploader,
        jurisdiction=body.jurisdiction,
    )  # fmt: skip
    return ContentOut.of(status)


@router.get("/unpublishable", dependencies=[known_query("cursor", "limit")])
@raises(ContentNotEnabled, InvalidCursor, StoreUnavailable)
async def list_unpublishable_content(
    caller: CallerDep,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The previous page's next_cursor (treat it as opaque; every string of this "
            "form names a position, anything else is invalid_cursor).",
            json_schema_extra={"pattern": LISTED_CURSOR},
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> UnpublishableResponse:
    """Your items that are not publishable (today), the longest unpublishable first, a page at a time."""
    page = await flow.unpublishable(caller.svc.content, caller.client, cursor, limit)
    return UnpublishableResponse(
        items=[ListedOut(content_id=e.content_id, since=e.since) for e in page.items], next_cursor=page.cursor
    )


@router.get("/{content_id}")
@raises(ContentNotEnabled, UnknownContent, StoreUnavailable)
async def get_content(content_id: ContentId, caller: CallerDep) -> ContentOut:
    """Whether the item may be published (content.publish), or what each person lacks: one store read."""
    return ContentOut.of(await flow.status(caller.svc.content, caller.client, content_id))


@router.post("/{content_id}/review")
@raises(
    ContentNotEnabled, UnknownContent, ReviewUnavailable, ImageTooLarge, UnsupportedImageType,
    ImageUnreadable, ImageTooManyPixels, ImageTooSmall, StoreUnavailable,
)  # fmt: skip
async def review_content(
    content_id: ContentId, body: ReviewRequest, request: Request, caller: JsonCallerDep
) -> ReviewOut:
    """Review support, on premises: run frames of the item through the local estimator. An
    apparent minor gives ``review_required`` for a human. A safety net, not a decision: it never
    approves anything and stores nothing; the frames are dropped when the call ends (a bad frame
    answers its image problem with its ``frame`` index)."""
    size = len(await request.body())
    frames: list[str | bytes] = list(body.frames)
    body.frames.clear()  # the flow owns the only copy and empties it
    result = await review_flow.review(caller.svc.content_review, caller.client, content_id, frames, size)
    return ReviewOut.of(result)


@router.post("/{content_id}/consent")
@raises(ContentHashMismatch, *PERSON_TOKEN)
async def consent_to_content(
    content_id: ContentId, body: ConsentRequest, caller: JsonCallerDep
) -> ContentOut:
    """A depicted person consents, with their own fresh token, to this media hash."""
    status = await flow.consent(
        caller.svc.content, caller.client, content_id, token=body.token, content_hash=body.content_hash
    )
    return ContentOut.of(status)


@router.post("/{content_id}/withdraw")
@raises(*PERSON_TOKEN)
async def withdraw_content_consent(
    content_id: ContentId, body: PersonTokenRequest, caller: JsonCallerDep
) -> ContentOut:
    """A depicted person withdraws their consent, with their own fresh token."""
    return ContentOut.of(await flow.withdraw(caller.svc.content, caller.client, content_id, token=body.token))


@router.post("/{content_id}/removal")
@raises(*PERSON_TOKEN)
async def request_content_removal(
    content_id: ContentId, body: PersonTokenRequest, caller: JsonCallerDep
) -> ContentOut:
    """A depicted person demands the item's removal, with their own fresh token (audited; the app is
    told by the content.unpublishable webhook)."""
    status = await flow.request_removal(caller.svc.content, caller.client, content_id, token=body.token)
    return ContentOut.of(status)
