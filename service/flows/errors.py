"""Errors the use cases raise; each has a stable code and HTTP status (the README's error table
is generated from them: ``ageband errors --readme README.md``)."""

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
    retry_after_seconds = 30  # an open circuit's recovery time by default; the waterfall offers others


class NoMethodAvailable(Unavailable):
    code = "no_method_available"
    title = "No method available"
    retry_after_seconds = 30


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


# Abuse sanctions. Each carries the policy's message for the user (``consequence``), so the app
# can show what circumventing the check means for them.
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


# Redirect methods (OpenID Connect logins).
class ReturnUrlNotAllowed(AgebandError):
    status = 400
    code = "return_url_not_allowed"
    title = "Return URL not allowed for this client"


class InvalidState(AgebandError):
    status = 400
    code = "invalid_state"
    title = "Unknown, expired or foreign callback state"


class StateUsed(AgebandError):
    status = 409
    code = "state_used"
    title = "This callback was already used"


# Wallets (OpenID4VP and the Digital Credentials API).
class WalletUnavailable(Conflict):
    code = "wallet_request_unavailable"
    title = "This method has no hosted wallet request here"


class OriginNotAllowed(AgebandError):
    status = 400
    code = "origin_not_allowed"
    title = "Origin not allowed for Digital Credentials API requests"


class InvalidWalletResponse(AgebandError):
    status = 400
    code = "invalid_wallet_response"
    title = "Malformed or foreign wallet response"


# Decisions.
class TokenWithBand(AgebandError):
    """A party given both a token and a band or level: the token alone says who it is."""

    status = 422
    code = "validation_failed"
    title = "Validation failed"


class DuplicateTargetId(AgebandError):
    """Two targets of one batch share an id: the answer (allowed ids, reasons by id) could not
    say which of them an id means."""

    status = 422
    code = "duplicate_target_id"
    title = "Duplicate target id"


class InvalidPartyToken(AgebandError):
    status = 400
    code = "invalid_party_token"
    title = "A party's token is not valid"


# Admin reloads: all-or-nothing, so a refused one leaves the live policy or keys in place.
class PolicyRejected(AgebandError):
    status = 422
    code = "policy_rejected"
    title = "The new policy is invalid; the live policy stays"


class KeysRejected(AgebandError):
    status = 422
    code = "keys_rejected"
    title = "The key manifest is invalid; the live keys stay"


class KeysNotReloadable(AgebandError):
    status = 409
    code = "keys_not_reloadable"
    title = "Signing keys are fixed at start-up; set AGEBAND_TOKENS__KEYS_FILE to reload them"


# Re-check requests and appeals.


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


# Guardian confirmation.
class GuardianNotAvailable(Conflict):
    """The jurisdiction has no guardian confirmation, or not for the child's band."""

    code = "guardian_not_available"
    title = "Guardian confirmation not available"


class GuardianNotEligible(Forbidden):
    """The confirming subject is not an adult at the policy's level (or is the child)."""

    code = "guardian_not_eligible"
    title = "Not eligible to confirm as a guardian"


class GuardianCodeInvalid(AgebandError):
    """Wrong, used, expired, another app's, or made for a band the child no longer has."""

    status = 400
    code = "invalid_guardian_code"
    title = "Invalid guardian code"


class GuardianLimitReached(Conflict):
    code = "guardian_limit_reached"
    title = "This guardian has confirmed the most children the policy allows"


# Trusted connections.
class TrustedNotAvailable(Conflict):
    code = "trusted_not_available"
    title = "Trusted connections are not available in this jurisdiction"


class ConnectionInvalid(AgebandError):
    """A pair nonce that is wrong, expired, already confirmed, or confirmed by its own opener."""

    status = 400
    code = "invalid_connection"
    title = "Invalid trusted connection"


# The hosted check page (service/flows/pages.py).
class InvalidReturnUrl(AgebandError):
    status = 400
    code = "invalid_return_url"
    title = "Return URL is not a usable address"


class PageLinkGone(Gone):
    """The link was opened already, or its check has ended: links are single-use."""

    code = "page_link_gone"
    title = "This check link was already used or has expired"


class UnknownPage(NotFound):
    code = "unknown_page"
    title = "Unknown or expired check page"


class PageForbidden(Forbidden):
    """A form sent without the page's CSRF cookie, or from another site."""

    code = "page_csrf_failed"
    title = "This form did not come from the check page"


# --- adult content items ----------------------------------------------------------------------
class ContentNotEnabled(Conflict):
    """The live policy has no ``depicted`` section, so it allows no content items."""

    code = "content_not_enabled"
    title = "Adult content is not enabled by the policy"


class ReviewUnavailable(Unavailable):
    """No local estimator runs here: review support needs a method of the policy backed by the
    ``local_estimation`` provider (the extra installed), so frames never leave the premises."""

    code = "review_unavailable"
    title = "Review support unavailable"


class UnknownContent(NotFound):
    code = "unknown_content"
    title = "Unknown content item"


class ContentExists(Conflict):
    code = "content_exists"
    title = "Content item already registered"


class InvalidRecordingMonth(AgebandError):
    status = 422
    code = "invalid_recording_month"
    title = "Invalid recording month"


class UnknownPerformer(NotFound):
    """A depicted person or uploader given by a sid this client has no record of (``index``;
    ``role``): a sid is accepted only for a subject the caller already has."""

    code = "unknown_performer"
    title = "Unknown depicted person or uploader"


class InvalidConsentToken(AgebandError):
    """The person's token did not verify, is another client's, or its subject was revoked."""

    status = 401
    code = "invalid_consent_token"
    title = "The person's token is not valid"


class ConsentTokenStale(AgebandError):
    """The token was issued longer ago than the policy's ``depicted.consent_token_age``: the
    person refreshes it (proving they are present) and consents again."""

    status = 401
    code = "consent_token_stale"
    title = "The person's token is not fresh"


class ConsentTokenUsed(Conflict):
    code = "consent_token_used"
    title = "The person's token was already used for a consent or removal"


class NotDepicted(Forbidden):
    """The token's subject is not one of the item's depicted persons."""

    code = "not_depicted"
    title = "Not a depicted person of this item"


class ContentHashMismatch(Conflict):
    """The consent names another media hash than the item's: the person saw other content."""

    code = "content_hash_mismatch"
    title = "Content hash does not match the item"
