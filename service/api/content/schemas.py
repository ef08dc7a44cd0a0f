"""Request and response bodies of the adult-content API."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.flows.content import ContentStatus
from service.flows.content_review import MAX_FRAMES, ReviewResult

SidStr = Annotated[str, StringConstraints(pattern=r"^sid_[A-Za-z0-9_-]{43}$")]
MONTH = r"^(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(?:0[1-9]|1[0-2])$"
ContentHash = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
Token = Annotated[str, StringConstraints(min_length=1, max_length=8192)]
MAX_PEOPLE = 50


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterContentRequest(_Strict):
    reference: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="The app's own reference for the item. Never stored: only a keyed hash of it "
        "(per client), which is the content id."
    )
    content_hash: ContentHash = Field(
        description="SHA-256 of the media, as 'sha256:<64 lower-case hex>'. Kept only as a keyed hash; "
        "each consent is bound to it."
    )
    recorded: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}$")] = Field(
        description="The recording month, YYYY-MM: everyone depicted must have been an adult then.",
        # The document states a month that parses (year 0001 on, month 01-12), which the service
        # answers 422 invalid_recording_month; whether it is past is the live clock's say.
        json_schema_extra={"pattern": MONTH},
    )
    depicted: list[SidStr] = Field(
        min_length=1,
        max_length=MAX_PEOPLE,
        json_schema_extra={"uniqueItems": True},
        description="The sids of everyone depicted, each a subject you have.",
    )
    uploader: SidStr = Field(description="The uploader's sid (may be one of the depicted).")
    jurisdiction: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="A jurisdiction of the policy: its content.publish rules decide."
    )

    @model_validator(mode="after")
    def _distinct(self) -> RegisterContentRequest:
        if len(set(self.depicted)) != len(self.depicted):
            raise ValueError("a person is named twice in 'depicted'")
        return self


class ConsentRequest(_Strict):
    token: Token = Field(
        description="The depicted person's own token, issued within the policy's "
        "depicted.consent_token_age (refresh it first)."
    )
    content_hash: ContentHash = Field(description="The hash of the media the person consents to.")


class PersonTokenRequest(_Strict):
    token: Token = Field(description="The depicted person's own fresh token.")


class PersonOut(BaseModel):
    person: int = Field(description="The person's place: the depicted in your order, then the uploader.")
    role: str = Field(description="depicted or uploader")
    reasons: list[str] = Field(description="Why this person stops the item being published (empty: nothing).")


class ContentOut(BaseModel):
    content_id: str
    publishable: bool
    recorded: str
    people: list[PersonOut]
    publishable_until: date | None = Field(
        description="The first day it is no longer publishable unless re-checks pass (null: not publishable)."
    )
    policy_version: str

    @classmethod
    def of(cls, s: ContentStatus) -> ContentOut:
        return cls(
            content_id=s.item.content_id,
            publishable=s.verdict.publishable,
            recorded=s.item.recorded,
            people=[
                PersonOut(person=p.index, role=p.role, reasons=list(p.reasons)) for p in s.verdict.people
            ],
            publishable_until=s.verdict.lapses,
            policy_version=s.policy_version,
        )


class ListedOut(BaseModel):
    content_id: str
    since: date = Field(description="The day it stopped being publishable.")


class UnpublishableResponse(BaseModel):
    items: list[ListedOut]
    next_cursor: str | None


class ReviewRequest(_Strict):
    frames: list[Annotated[str, StringConstraints(min_length=1)]] = Field(
        min_length=1,
        max_length=MAX_FRAMES,
        description="Frames of the item as base64 JPEG, PNG or WebP (all within the evidence body "
        "limit). Held in memory for this call only.",
    )


class FrameOut(BaseModel):
    index: int = Field(description="The frame's place in the request.")
    faces: int = Field(description="Faces the local estimator found.")
    apparent_minors: int = Field(description="Faces whose estimate cannot rule out a minor.")
    unassessed: int = Field(description="Faces the model could not judge: look at them yourself.")
    reason: str | None = Field(default=None, description="no_face: the frame shows no face.")


class ReviewOut(BaseModel):
    content_id: str
    review_required: bool = Field(
        description="True: an apparent minor; have a human review the item before publication. "
        "False approves nothing: publishability is GET /v1/content/{id}."
    )
    frames: list[FrameOut]
    method: str = Field(description="The policy's method whose parameters the estimates used.")
    policy_version: str

    @classmethod
    def of(cls, r: ReviewResult) -> ReviewOut:
        frames = [
            FrameOut(
                index=i,
                faces=f.faces,
                apparent_minors=f.apparent_minors,
                unassessed=f.unassessed,
                reason=f.reason,
            )
            for i, f in enumerate(r.frames)
        ]
        return cls(
            content_id=r.content_id, review_required=r.review_required, frames=frames, method=r.method,
            policy_version=r.policy_version,
        )  # fmt: skip
