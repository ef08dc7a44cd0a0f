"""Errors the use cases raise; each has a stable code and HTTP status."""

from __future__ import annotations

from service.core.errors import AgebandError, Conflict, Forbidden, Gone, NotFound, Unavailable


class UnknownCheck(NotFound):
    code = "unknown_check"
    title = "Unknown check"


class CheckExpired(Gone):
    code = "check_expired"
    title = "Check expired"


class CheckClosed(Conflict):
    code = "check_closed"
    title = "Check already completed"


class UnknownMethod(AgebandError):
    status = 400
    code = "unknown_method"
    title = "Unknown method"


class UnknownProvider(NotFound):
    """No redirect (OpenID Connect) provider of that name on this deployment."""

    code = "unknown_provider"
    title = "Unknown identity provider"


class MethodNotAllowed(Conflict):
    code = "method_not_allowed"
    title = "Method not allowed here"


class MethodUnavailable(Unavailable):
    """A method of the policy that this deployment cannot run now: its provider is not enabled,
    or reports itself unavailable (a missing model, an open circuit)."""

    code = "method_unavailable"
    title = "Method unavailable"


class NoMethodAvailable(Unavailable):
    code = "no_method_available"
    title = "No method available"


class JurisdictionNotAllowed(Forbidden):
    code = "jurisdiction_not_allowed"
    title = "Jurisdiction not allowed for this client"


class UnknownSubject(NotFound):
    code = "unknown_subject"
    title = "Unknown subject"


class RecheckRequired(Conflict):
    code = "recheck_required"
    title = "Re-check required"


class CheckBusy(Conflict):
    code = "check_busy"
    title = "Another submission for this check is in progress"


class RecordBusy(Conflict):
    """Writers kept changing a subject's record between this request's read and write."""

    code = "record_busy"
    title = "Subject busy"


class DevClockDisabled(NotFound):
    code = "dev_clock_disabled"
    title = "The settable clock is not enabled"


class ProviderFailed(AgebandError):
    """A provider raised something other than an ageband error: its message may quote evidence."""

    status = 502
    code = "provider_failed"
    title = "The method's provider failed"
