"""What the use cases return. The API maps these onto its response schemas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from service.store.records import CheckStatus


@dataclass(frozen=True, slots=True)
class MethodOffer:
    name: str
    method_class: str
    description: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    band: str
    level: str
    recheck_at: date
    recheck_due: bool
    upper_level: str | None = None
    recheck_reason: str | None = None  # a re-check the app demanded is pending: its reason code
    recheck_deadline: datetime | None = None  # and when it must be done


@dataclass(frozen=True, slots=True)
class StartedCheck:
    check_id: str
    sid: str
    expires_at: datetime
    method: MethodOffer
    methods: list[MethodOffer]
    explanation_uses: str
    explanation_keeps: str
    explanation_why: str
    appeal_deadline: datetime | None = None  # an appeal: by when the user gets an answer
    appeal_message: str | None = None  # and the policy's text about it, in their language


@dataclass(frozen=True, slots=True)
class CheckView:
    check_id: str
    status: CheckStatus
    jurisdiction: str
    purpose: str
    expires_at: datetime
    methods_tried: list[str]
    attempts_left: int
    next_method: MethodOffer | None
    reason: str | None
    token: IssuedToken | None = None  # an anonymous check's one-time token, to its first reader


@dataclass(frozen=True, slots=True)
class EvidenceResult:
    check: CheckView
    outcome: str  # passed | inconclusive | failed
    reason: str | None
    token: IssuedToken | None
    sanction: str | None = None  # the abuse signal whose sanction this submission brought on
    consequence: str | None = None  # the policy's message for the user about that sanction or refusal
    methods: tuple[MethodOffer, ...] = ()  # with band_upgrade_needs_level: the methods that would do
    min_level: str | None = None  # with band_upgrade_needs_level: the level they must reach
