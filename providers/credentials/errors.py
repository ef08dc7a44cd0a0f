"""Why a presentation was rejected: a stable reason code, never a claim value."""

from __future__ import annotations


class Rejected(Exception):
    """A presentation that does not verify. ``reason`` is a stable code the flow reports."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# The reason codes, in one place, so the provider can declare every one it returns.
UNTRUSTED_ISSUER = "untrusted_issuer"
CREDENTIAL_EXPIRED = "credential_expired"
INVALID_SIGNATURE = "invalid_signature"
TAMPERED = "credential_tampered"
BINDING_MISMATCH = "binding_mismatch"
MALFORMED = "malformed_presentation"
WRONG_TYPE = "wrong_credential_type"
CLAIM_MISSING = "age_claim_missing"
CLAIMS_INCONSISTENT = "age_claims_inconsistent"
FORMAT_NOT_ACCEPTED = "format_not_accepted"
# A genuine presentation for this check made over a handover or device authentication this
# verifier does not accept (an interop failure, never a circumvention signal).
UNSUPPORTED_HANDOVER = "unsupported_handover"

REASONS = frozenset(
    {
        UNTRUSTED_ISSUER,
        CREDENTIAL_EXPIRED,
        INVALID_SIGNATURE,
        TAMPERED,
        BINDING_MISMATCH,
        MALFORMED,
        WRONG_TYPE,
        CLAIM_MISSING,
        CLAIMS_INCONSISTENT,
        FORMAT_NOT_ACCEPTED,
        UNSUPPORTED_HANDOVER,
    }
)
