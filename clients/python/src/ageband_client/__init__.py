"""ageband for apps: verify age-band tokens, decide offline from the signed policy bundle, verify
webhooks, and call the API. Speaks only ageband's public API, JWKS and bundle."""

from ageband_client.api import Ageband, ApiError, BatchResult, Decision, TokenResult
from ageband_client.bundle import (
    BundleError,
    BundleExpired,
    InvalidBundle,
    LocalDecision,
    LocalDeterrence,
    PolicyBundle,
    UnknownAction,
    UnknownJurisdiction,
    UnknownParty,
)
from ageband_client.keys import KeySet
from ageband_client.tokens import AgeToken, InvalidToken, Party, TokenCache, TokenVerifier, verify_token
from ageband_client.webhooks import InvalidWebhook, verify_webhook

__all__ = [
    "AgeToken",
    "Ageband",
    "ApiError",
    "BatchResult",
    "BundleError",
    "BundleExpired",
    "Decision",
    "InvalidBundle",
    "InvalidToken",
    "InvalidWebhook",
    "KeySet",
    "LocalDecision",
    "LocalDeterrence",
    "Party",
    "PolicyBundle",
    "TokenCache",
    "TokenResult",
    "TokenVerifier",
    "UnknownAction",
    "UnknownJurisdiction",
    "UnknownParty",
    "verify_token",
    "verify_webhook",
]
