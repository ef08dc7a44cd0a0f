"""The policy bundle: the compiled decision tables, signed with the service's token keys.

Signed once per (policy version, signing key) and reused: the bundle changes only with them.
"""

from __future__ import annotations

import orjson
from joserfc.jws import JWSRegistry
from joserfc.util import urlsafe_b64encode

from service.flows.context import Services
from service.policy.bundle import bundle_payload

BUNDLE_TYPE = "ageband-bundle+jwt"
_signed: dict[tuple[str, str], str] = {}  # (version, kid) → compact JWS; tiny and bounded


def signed_bundle(svc: Services) -> tuple[str, str]:
    """The compact JWS and its entity tag (version and kid: what makes a bundle differ)."""
    policy = svc.policy.current
    key = svc.keyring.signing_key
    cache_key = (policy.version, key.kid)
    etag = f'"{policy.version}.{key.kid[:16]}"'
    token = _signed.get(cache_key)
    if token is None:
        header = {"alg": key.alg, "typ": BUNDLE_TYPE, "kid": key.kid}
        payload = {"iat": int(svc.clock.now().timestamp()), **bundle_payload(policy)}
        signing_input = (
            urlsafe_b64encode(orjson.dumps(header)) + b"." + urlsafe_b64encode(orjson.dumps(payload))
        )
        # The algorithm model directly: the key ring pins one algorithm per key, as the signer does.
        signature = JWSRegistry.algorithms[key.alg].sign(signing_input, key.key)
        token = (signing_input + b"." + urlsafe_b64encode(signature)).decode("ascii")
        if len(_signed) >= 8:
            _signed.clear()
        _signed[cache_key] = token
    return token, etag
