"""Errors that abuse sanctions raise. Each carries the policy's message for the user
(``consequence``), so the app can show what circumventing the check means for them."""

from __future__ import annotations

from service.core.errors import AgebandError, Forbidden


class SubjectLocked(AgebandError):
    status = 429
    code = "subject_locked"
    title = "Locked after a circumvention signal"


class RateLimited(AgebandError):
    status = 429
    code = "rate_limited"
    title = "Too many attempts"


class StrongerMethodRequired(Forbidden):
    code = "stronger_method_required"
    title = "A stronger method is required"
