"""A reference evaluator for the signed policy bundle: what an app needs to decide locally.

Depends only on joserfc (to verify the JWS against the service's JWKS) and the standard library.

    ev = BundleEvaluator.verify(bundle_jws, jwks_json, issuer="https://age.example", now=time.time())
    ev.decide("GB", "profile.view", actor=("18_plus", "effective", None), target=("13_15", None, None))
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import warnings
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet

BUNDLE_TYPE = "ageband-bundle+jwt"
LEEWAY = 30  # seconds of clock skew tolerated on iat and exp
Party = tuple[str | None, str | None, str | None]  # (band, level, upper_level); None where unknown
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def is_canonical(token: str) -> bool:
    """Three segments, each the one base64url spelling of its bytes (no padding, no "+" or "/",
    no stray characters, no non-zero dropped bits): the service refuses every other spelling."""
    if _COMPACT.fullmatch(token) is None:
        return False
    for segment in token.split("."):
        try:
            raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        except (binascii.Error, ValueError):
            return False
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != segment:
            return False
    return True


@dataclass(frozen=True)
class LocalDecision:
    allowed: bool
    rule: str
    reason: str
    message: str
    obligations: list[str]


class BundleEvaluator:
    def __init__(self, payload: dict[str, Any]) -> None:
        if payload.get("v") != 2:
            raise ValueError("unsupported bundle version")
        self.payload = payload
        self.version: str = payload["pol"]
        self._index = {k: i for i, k in enumerate(payload["keys"])}

    @classmethod
    def verify(
        cls, token: str, jwks: dict[str, Any], *, issuer: str, now: float | None = None
    ) -> BundleEvaluator:
        """Canonical encoding, signature (by a key of the JWKS), ``typ``, ``iss`` and the
        ``iat``/``exp`` window."""
        if not is_canonical(token):
            raise ValueError("bundle not in canonical base64url")
        keys = KeySet.import_key_set(jwks)
        with warnings.catch_warnings():  # "EdDSA" is deprecated as a name; the JWKS pins Ed25519
            warnings.simplefilter("ignore", SecurityWarning)
            obj = jws.deserialize_compact(token, keys, algorithms=["EdDSA", "ES256"])
        if obj.headers().get("typ") != BUNDLE_TYPE:
            raise ValueError("not a policy bundle")
        payload = json.loads(obj.payload)
        if payload.get("iss") != issuer:
            raise ValueError("bundle from another issuer")
        now = time.time() if now is None else now
        iat, exp = payload.get("iat"), payload.get("exp")
        if type(iat) is not int or type(exp) is not int:
            raise ValueError("bundle without iat and exp")
        if iat > now + LEEWAY:
            raise ValueError("bundle issued in the future")
        if exp <= now - LEEWAY:
            raise ValueError("bundle expired: refetch it")
        return cls(payload)

    @staticmethod
    def key(party: Party) -> str:
        band, level, upper = party
        return "" if band is None else f"{band}:{level or ''}:{upper or ''}"

    def decide(
        self, jurisdiction: str, action: str, actor: Party, target: Party, locale: str | None = None
    ) -> LocalDecision:
        juris = self.payload["jurisdictions"][jurisdiction]
        a = juris["actor_class"][self._index[self.key(actor)]]
        t = juris["target_class"][self._index[self.key(target)]]
        o = self.payload["outcomes"][juris["tables"][action][a][t]]
        return LocalDecision(
            o["allowed"], o["rule"], o["reason"], self._text(o["message"], locale), o["obligations"]
        )

    def service(self, reason: str, locale: str | None = None) -> LocalDecision:
        """The service's own denial (no_matching_rule, invalid_token, unknown_band), as it words it."""
        o = self.payload["outcomes"][self.payload["service"][reason]]
        return LocalDecision(
            o["allowed"], o["rule"], o["reason"], self._text(o["message"], locale), o["obligations"]
        )

    def _text(self, texts: dict[str, str], locale: str | None) -> str:
        for candidate in (locale, locale.split("-")[0] if locale else None, self.payload["default_locale"]):
            if candidate and candidate in texts:
                return texts[candidate]
        return next(iter(texts.values()), "")
