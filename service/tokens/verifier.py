"""Verifying age-band tokens.

Everything an attacker controls is checked against what we issue, most of it before the
signature is even looked at: size, shape, header members, algorithm (pinned to the key
named by kid), type. Every segment must be canonical base64url (``service.core.base64url``), so
a token has exactly one spelling: re-encoding a valid token (padding, ``+``/``/``, non-zero
dropped bits) gives a refused token, never a second valid one. Then joserfc verifies the
signature with that one key and algorithm, and the claims must be exactly ours.
"""

from __future__ import annotations

import json
import re
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jws import JWSRegistry

from service.core import base64url
from service.core.clock import Clock
from service.tokens import _jose
from service.tokens.claims import MAX_TOKEN_BYTES, TOKEN_TYPE, ClaimsError, TokenClaims
from service.tokens.errors import InvalidToken
from service.tokens.keys import KeyRing, SigningKey

__all__ = ["InvalidToken", "TokenVerifier"]

# Headers that would let the token choose its own key or add rules we do not know.
_FORBIDDEN_HEADERS = ("crit", "jku", "x5u", "jwk", "x5c")
_ALLOWED_HEADERS = frozenset({"alg", "typ", "kid"})
# Checked before the kid is used as a lookup key anywhere (path, SQL, log injection).
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers reading {"alg":"EdDSA","alg":"none"} differently is a classic bypass.
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member")
    return out


def _decode_object(segment: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64url.decode(segment), object_pairs_hook=_no_duplicates)
    except ValueError:  # also binascii.Error, UnicodeDecodeError, JSONDecodeError
        return None
    return value if isinstance(value, dict) else None


class TokenVerifier:
    def __init__(self, keyring: KeyRing, issuer: str, clock: Clock, leeway_seconds: int = 30) -> None:
        if leeway_seconds < 0:
            raise ValueError("leeway_seconds must not be negative")
        self._keyring = keyring
        self._issuer = issuer
        self._clock = clock
        self._leeway = leeway_seconds
        # One pinned registry per algorithm, made on first use: a rotated ring may bring a new one.
        self._registries: dict[str, JWSRegistry] = {}

    def verify(self, token: str, *, audience: str | None) -> TokenClaims:
        """The token's claims, or InvalidToken.

        ``audience=None`` accepts any audience (it must still be one string): introspection
        compares ``aud`` with its own caller itself.
        """
        # First and O(1): a hostile multi-megabyte token costs nothing more than this.
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("token too large")
        if not base64url.is_canonical_compact(token):  # one regex and three last characters
            if not token.isascii() or token.count(".") != 2:
                raise InvalidToken("malformed token")
            raise InvalidToken("non-canonical encoding")
        segments = token.split(".")
        header = _decode_object(segments[0])
        if header is None:
            raise InvalidToken("malformed header")
        key = self._key_for(header)
        try:
            registry = self._registries.get(key.alg) or self._registries.setdefault(
                key.alg, _jose.pinned_registry(key.alg)
            )
            obj = jws.deserialize_compact(token, key.key, registry=registry)
        except BadSignatureError:
            raise InvalidToken("bad signature") from None
        except (JoseError, ValueError):
            raise InvalidToken("malformed token") from None
        return self._check_claims(obj.payload, audience)

    def _key_for(self, header: dict[str, Any]) -> SigningKey:
        for name in _FORBIDDEN_HEADERS:
            if name in header:
                raise InvalidToken(f"forbidden header {name}")
        if not header.keys() <= _ALLOWED_HEADERS:
            raise InvalidToken("unexpected header")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._keyring.algorithms:
            raise InvalidToken("algorithm not allowed")
        if header.get("typ") != TOKEN_TYPE:
            raise InvalidToken("wrong typ")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID_RE.fullmatch(kid):
            raise InvalidToken("malformed kid")
        key = self._keyring.find(kid)
        if key is None:
            raise InvalidToken("unknown kid")
        if key.alg != alg:
            # Pins the algorithm to the key: an HS256 header naming an EdDSA kid stops here.
            raise InvalidToken("algorithm does not match key")
        return key

    def _check_claims(self, raw: bytes, audience: str | None) -> TokenClaims:
        try:
            payload = json.loads(raw, object_pairs_hook=_no_duplicates)
        except ValueError:
            raise InvalidToken("malformed payload") from None
        if not isinstance(payload, dict):
            raise InvalidToken("malformed payload")
        now = self._clock.now().timestamp()
        # nbf is never issued, but a standard time claim is honoured rather than ignored.
        if "nbf" in payload:
            nbf = payload.pop("nbf")
            if type(nbf) is not int:
                raise InvalidToken("claim nbf must be an integer")
            if nbf > now + self._leeway:
                raise InvalidToken("not yet valid (nbf)")
        try:
            claims = TokenClaims.from_payload(payload)
        except ClaimsError as err:
            raise InvalidToken(str(err)) from None
        if claims.iss != self._issuer:
            raise InvalidToken("wrong issuer")
        if audience is not None and claims.aud != audience:
            raise InvalidToken("wrong audience")
        if claims.exp <= now - self._leeway:
            raise InvalidToken("expired")
        if claims.iat > now + self._leeway:
            raise InvalidToken("issued in the future")
        return claims
