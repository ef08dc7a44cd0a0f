"""Errors of re-check requests and appeals; each has a stable code and HTTP status."""

from __future__ import annotations

from service.core.errors import AgebandError, Conflict


class UnknownLevel(AgebandError):
    status = 400
    code = "unknown_level"
    title = "Unknown assurance level"


class InvalidDeadline(AgebandError):
    """A deadline in the past, or further ahead than the policy's ``max_deadline``."""

    status = 400
    code = "invalid_deadline"
    title = "Deadline out of range"


class AppealsNotOffered(Conflict):
    """The jurisdiction takes no appeals, or none of its appeal methods is stronger than the one
    that set the band (and available here)."""

    code = "appeal_not_available"
    title = "No appeal available"
