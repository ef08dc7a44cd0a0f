"""Signed age-band tokens: keys and JWKS, issuing, verifying. Depends only on service.core."""

from service.tokens.claims import CLAIM_NAMES, MAX_TOKEN_BYTES, TOKEN_TYPE, TokenClaims
from service.tokens.errors import InvalidToken, KeyConfigError
from service.tokens.keys import KeyRing, KeyState, SigningKey, generate_key, load_key, write_key
from service.tokens.signer import TokenSigner
from service.tokens.verifier import TokenVerifier

__all__ = [
    "CLAIM_NAMES",
    "MAX_TOKEN_BYTES",
    "TOKEN_TYPE",
    "InvalidToken",
    "KeyConfigError",
    "KeyRing",
    "KeyState",
    "SigningKey",
    "TokenClaims",
    "TokenSigner",
    "TokenVerifier",
    "generate_key",
    "load_key",
    "write_key",
]
