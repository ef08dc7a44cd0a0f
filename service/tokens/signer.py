"""Issuing age-band tokens. This runs on every refresh, so per-token work is kept minimal."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from json.encoder import encode_basestring_ascii

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from joserfc.util import urlsafe_b64encode
from nacl.bindings import crypto_sign, crypto_sign_seed_keypair

from service.core.clock import Clock
from service.core.ids import new_jti
from service.tokens import _jose
from service.tokens.claims import MAX_TOKEN_BYTES, TOKEN_TYPE, TokenClaims
from service.tokens.keys import KeyRing, SigningKey

__all__ = ["TokenSigner"]


def _payload_json(c: TokenClaims, prefix: str) -> bytes:
    """Compact JSON of the claims, as ``json.dumps(c.to_payload(), separators=(",", ":"))``.

    Written out with the json module's own string escaper because it is three times faster
    than the general encoder on this hot path; a test pins it to json.dumps' output.
    ``prefix`` is the pre-encoded ``{"iss":...`` that never changes for a signer.
    """
    q = encode_basestring_ascii
    upper = "null" if c.upper_level is None else q(c.upper_level)
    return (
        f'{prefix},"aud":{q(c.aud)},"sub":{q(c.sub)},"iat":{c.iat},"exp":{c.exp},'
        f'"jti":{q(c.jti)},"age_band":{q(c.age_band)},"level":{q(c.level)},"upper_level":{upper},'
        f'"method":{q(c.method)},"jur":{q(c.jur)},"pol":{q(c.pol)},'
        f'"recheck_at":{c.recheck_at}}}'
    ).encode("ascii")


class TokenSigner:
    """Signs with the ring's active key, following the ring when it is rotated."""

    def __init__(
        self,
        keyring: KeyRing,
        issuer: str,
        *,
        lifetime: timedelta = timedelta(minutes=5),
        clock: Clock,
    ) -> None:
        seconds = lifetime.total_seconds()
        if seconds < 1 or seconds != int(seconds):
            raise ValueError("token lifetime must be a whole number of seconds, at least 1")
        if not issuer:
            raise ValueError("issuer must not be empty")
        self._issuer = issuer
        self._lifetime = int(seconds)
        self._clock = clock
        self._keyring = keyring
        self._use(keyring.signing_key)
        self._payload_prefix = '{"iss":' + encode_basestring_ascii(issuer)

    @property
    def issuer(self) -> str:
        """The ``iss`` of every token; the policy bundle is signed under the same name."""
        return self._issuer

    def _use(self, key: SigningKey) -> None:
        self._signing = key
        self.kid = key.kid
        self._sign = _sign_function(key)
        # The header never changes for a key: encode it once, not per token.
        header = {"alg": key.alg, "typ": TOKEN_TYPE, "kid": key.kid}
        self._header_segment = urlsafe_b64encode(json.dumps(header, separators=(",", ":")).encode())

    def issue(
        self,
        *,
        client_id: str,
        sid: str,
        band: str,
        level: str,
        method: str,
        jurisdiction: str,
        policy_version: str,
        recheck_at: int,
        upper_level: str | None = None,
    ) -> tuple[str, TokenClaims]:
        if self._keyring.signing_key is not self._signing:  # the ring was rotated
            self._use(self._keyring.signing_key)
        now = int(self._clock.now().timestamp())
        claims = TokenClaims(
            iss=self._issuer,
            aud=client_id,
            sub=sid,
            iat=now,
            exp=now + self._lifetime,
            jti=new_jti(),
            age_band=band,
            level=level,
            upper_level=upper_level,
            method=method,
            jur=jurisdiction,
            pol=policy_version,
            recheck_at=recheck_at,
        )
        # The verifier's rules for the caller's values (the rest are ours): never issue a
        # token we would then reject. Inline rather than claims.check(): hot path.
        if (
            type(recheck_at) is not int
            or not all(
                type(v) is str and v
                for v in (client_id, sid, band, level, method, jurisdiction, policy_version)
            )
            or (upper_level is not None and (type(upper_level) is not str or not upper_level))
        ):
            claims.check()  # raises ClaimsError naming the offending claim
        payload = _payload_json(claims, self._payload_prefix)
        signing_input = self._header_segment + b"." + urlsafe_b64encode(payload)
        signature = self._sign(signing_input)
        token = (signing_input + b"." + urlsafe_b64encode(signature)).decode("ascii")
        if len(token) > MAX_TOKEN_BYTES:
            raise ValueError("token would exceed MAX_TOKEN_BYTES; claim values are too long")
        return token, claims


def _sign_function(key: SigningKey) -> Callable[[bytes], bytes]:
    """The JWS signature function for a key, resolved once per key rather than per token.

    joserfc's algorithm object re-checks the key's permitted operations on every call, which
    costs half as much again as the signature itself. For EdDSA the JWS signature is exactly
    the Ed25519 signature of the signing input (RFC 8037), and Ed25519 is deterministic, so
    libsodium (PyNaCl) makes the same signature as OpenSSL from the same seed, a quarter
    faster; a test pins the two together. ES256 needs its DER signature re-encoded, which
    stays with joserfc.
    """
    alg = _jose.algorithm(key.alg)
    private = key.key.get_op_key("sign")  # joserfc's key_ops check, once
    if key.alg == "EdDSA" and isinstance(private, Ed25519PrivateKey):
        # PyNaCl's binding, not its SigningKey: that wraps each signature in a SignedMessage.
        seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        _, secret = crypto_sign_seed_keypair(seed)
        return lambda signing_input: crypto_sign(signing_input, secret)[:64]
    jwk = key.key
    return lambda signing_input: alg.sign(signing_input, jwk)
