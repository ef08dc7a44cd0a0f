"""Errors of the OpenID Connect relying party."""

from __future__ import annotations

from service.core.errors import Unavailable


class IdentityProviderUnavailable(Unavailable):
    """The identity provider did not answer in time, or answered with a server error."""

    code = "identity_provider_unavailable"
    title = "Identity provider unavailable"


class Rejected(Exception):
    """A callback or ID token that does not verify; ``reason`` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


AUTHORIZATION_DENIED = "authorization_denied"
ISSUER_MISMATCH = "issuer_mismatch"
TOKEN_EXCHANGE_FAILED = "token_exchange_failed"  # noqa: S105 - a reason code, not a secret
ID_TOKEN_INVALID = "id_token_invalid"  # noqa: S105 - a reason code, not a secret
ID_TOKEN_EXPIRED = "id_token_expired"  # noqa: S105 - a reason code, not a secret
SIGNING_KEY_UNKNOWN = "signing_key_unknown"
NONCE_MISMATCH = "nonce_mismatch"
AUDIENCE_MISMATCH = "audience_mismatch"
AGE_CLAIM_MISSING = "age_claim_missing"
AGE_CLAIM_INVALID = "age_claim_invalid"
USERINFO_INVALID = "userinfo_invalid"
USERINFO_SUBJECT_MISMATCH = "userinfo_subject_mismatch"

REASONS = frozenset(
    {
        AUTHORIZATION_DENIED,
        ISSUER_MISMATCH,
        TOKEN_EXCHANGE_FAILED,
        ID_TOKEN_INVALID,
        ID_TOKEN_EXPIRED,
        SIGNING_KEY_UNKNOWN,
        NONCE_MISMATCH,
        AUDIENCE_MISMATCH,
        AGE_CLAIM_MISSING,
        AGE_CLAIM_INVALID,
        USERINFO_INVALID,
        USERINFO_SUBJECT_MISMATCH,
    }
)
