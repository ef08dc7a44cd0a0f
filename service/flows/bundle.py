"""The policy bundle: the compiled decision tables, signed with the service's token keys.

The JWS header has ``typ: ageband-bundle+jwt`` (so a bundle is never mistaken for an age-band
token, nor a token for a bundle) and the payload carries ``iss`` (the token issuer), ``iat`` and a
short ``exp``: an app that keeps deciding locally must refetch, so a policy change or a key
retirement reaches it within the bundle's lifetime. A bundle is signed once per (policy version,
signing key) and re-signed when half its lifetime has gone, so every copy served still has at
least half of it left.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from joserfc.jws import JWSRegistry
from joserfc.util import urlsafe_b64encode

from service.core.clock import Clock
from service.policy.bundle import bundle_payload
from service.policy.holder import PolicyHolder
from service.tokens.keys import KeyRing
from service.tokens.signer import TokenSigner

BUNDLE_TYPE = "ageband-bundle+jwt"
BUNDLE_LIFETIME = 600  # seconds: apps refetch (If-None-Match) well within it


@dataclass(frozen=True, slots=True)
class BundleSigning:
    """What signing the bundle touches: the compiled policy and the token keys and issuer."""

    policy: PolicyHolder
    keyring: KeyRing
    signer: TokenSigner  # the issuer
    clock: Clock


@dataclass(frozen=True, slots=True)
class SignedBundle:
    token: str
    etag: str
    issued_at: int
    expires_at: int


# (issuer, version, kid) → the latest bundle; tiny and bounded.
_signed: dict[tuple[str, str, str], SignedBundle] = {}


def signed_bundle(svc: BundleSigning) -> SignedBundle:
    """The compact JWS, its entity tag (version, kid and iat: what makes a bundle differ), its exp."""
    policy = svc.policy.current
    key = svc.keyring.signing_key
    now = int(svc.clock.now().timestamp())
    cache_key = (svc.signer.issuer, policy.version, key.kid)
    cached = _signed.get(cache_key)
    if cached is not None and cached.issued_at <= now < cached.expires_at - BUNDLE_LIFETIME // 2:
        return cached
    header = {"alg": key.alg, "typ": BUNDLE_TYPE, "kid": key.kid}
    exp = now + BUNDLE_LIFETIME
    payload = {"iss": svc.signer.issuer, "iat": now, "exp": exp, **bundle_payload(policy)}
    signing_input = urlsafe_b64encode(orjson.dumps(header)) + b"." + urlsafe_b64encode(orjson.dumps(payload))
    # The algorithm model directly: the key ring pins one algorithm per key, as the signer does.
    signature = JWSRegistry.algorithms[key.alg].sign(signing_input, key.key)
    token = (signing_input + b"." + urlsafe_b64encode(signature)).decode("ascii")
    if len(_signed) >= 8:
        _signed.clear()
    done = SignedBundle(token, f'"{policy.version}.{key.kid[:16]}.{now}"', now, exp)
    _signed[cache_key] = done
    return done
