"""Errors of the adult-content use cases; each has a stable code and HTTP status."""

from __future__ import annotations

from service.core.errors import AgebandError, Conflict, Forbidden, NotFound


class ContentNotEnabled(Conflict):
    """The live policy has no ``depicted`` section, so it allows no content items."""

    code = "content_not_enabled"
    title = "Adult content is not enabled by the policy"


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
