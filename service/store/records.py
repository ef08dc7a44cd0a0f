"""What the store keeps. Every field here is listed, with its purpose, in the data inventory.

Nothing here identifies a person directly: subjects appear only as their pairwise sid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class CheckStatus(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SignalNote:
    """One signal of a check, reduced to its level and interval (no evidence, no qualifier)."""

    level: str
    lo: int
    hi: int | None


@dataclass(slots=True)
class CheckState:
    """One age-assurance session (TTL ≤ 15 min)."""

    check_id: str
    client_id: str
    sid: str
    jurisdiction: str
    purpose: str
    policy_version: str
    created_at: int  # epoch seconds
    expires_at: int  # epoch seconds
    status: CheckStatus = CheckStatus.PENDING
    methods_tried: list[str] = field(default_factory=list)
    # Intersection of the signals so far (successive validation); None before the first.
    interval_lo: int | None = None
    interval_hi: int | None = None
    signals: list[SignalNote] = field(default_factory=list)
    attempts: int = 0  # attempts claimed so far, including evidence that did not parse
    reason: str | None = None  # stable reason code once failed
    version: int = 0  # optimistic concurrency: bumped by every successful update


@dataclass(slots=True)
class AssuranceRecord:
    """Per-sid assurance state (TTL = retention)."""

    sid: str
    client_id: str
    band: str
    level: str
    method: str  # method class only
    jurisdiction: str
    assured_at: date  # day only
    recheck_at: date
    age_up_at: date | None  # coarse: first of a month, minors with exact intervals only
    policy_version: str
    generation: int = 0
