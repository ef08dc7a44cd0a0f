"""The policy bundle: the compiled decision tables, signed with the service's token keys.

The JWS header has ``typ: ageband-bundle+jwt`` (so a bundle is never mistaken for an age-band
token, nor a token for a bundle) and ``kid``, the active token key's, published in the JWKS like
every key (``next`` keys never sign, ``retired`` ones stay published). The payload carries
``iss`` (the token issuer), ``iat``, ``exp`` (``AGEBAND_BUNDLE__LIFETIME``, a day by default: an
app keeps deciding through an outage of the service that long) and ``refresh_after`` (``iat`` +
``AGEBAND_BUNDLE__REFRESH``): when an app should refetch, so a policy change or a key rotation
reaches it within that time. A bundle is signed once per (policy version, signing key) and
re-signed once ``refresh_after`` has passed, so every copy served still has at least
``lifetime - refresh`` left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from joserfc.jws import JWSRegistry
from joserfc.util import urlsafe_b64encode

from service.core.clock import Clock
from service.policy.bundle import bundle_payload
from service.policy.holder import PolicyHolder
from service.tokens.keys import KeyRing
from service.tokens.signer import TokenSigner

BUNDLE_TYPE = "ageband-bundle+jwt"


@dataclass(frozen=True, slots=True)
class SignedBundle:
    token: str
    etag: str
    issued_at: int
    refresh_after: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class BundleSigning:
    """What signing the bundle touches: the compiled policy, the token keys and issuer, and the
    bundle's lifetime and refresh hint (seconds)."""

    policy: PolicyHolder
    keyring: KeyRing
    signer: TokenSigner  # the issuer
    clock: Clock
    lifetime: int = 86_400
    refresh: int = 3_600
    # (version, kid) → the latest bundle; tiny and bounded.
    signed: dict[tuple[str, str], SignedBundle] = field(default_factory=dict, compare=False)


def signed_bundle(svc: BundleSigning) -> SignedBundle:
    """The compact JWS, its entity tag (version, kid and iat: what makes a bundle differ), its times."""
    policy = svc.policy.current
    key = svc.keyring.signing_key
    now = int(svc.clock.now().timestamp())
    cache_key = (policy.version, key.kid)
    cached = svc.signed.get(cache_key)
    if cached is not None and cached.issued_at <= now < cached.refresh_after:
        return cached
    header = {"alg": key.alg, "typ": BUNDLE_TYPE, "kid": key.kid}
    exp, refresh_after = now + svc.lifetime, now + svc.refresh
    payload = {
        "iss": svc.signer.issuer, "iat": now, "refresh_after": refresh_after, "exp": exp,
        **bundle_payload(policy),
    }  # fmt: skip
    signing_input = urlsafe_b64encode(orjson.dumps(header)) + b"." + urlsafe_b64encode(orjson.dumps(payload))
    # The algorithm model directly: the key ring pins one algorithm per key, as the signer does.
    signature = JWSRegistry.algorithms[key.alg].sign(signing_input, key.key)
    token = (signing_input + b"." + urlsafe_b64encode(signature)).decode("ascii")
    if len(svc.signed) >= 8:
        svc.signed.clear()
    done = SignedBundle(token, f'"{policy.version}.{key.kid[:16]}.{now}"', now, refresh_after, exp)
    svc.signed[cache_key] = done
    return done
