"""A wallet's side of the Digital Credentials API step, for the page's tests: read the signed
request as a wallet checks it, and seal an SD-JWT presentation as the answer."""

from __future__ import annotations

import json
from typing import Any

from credential_factory import Pki, issue_sd_jwt, present_sd_jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwe, jws
from joserfc.jwk import ECKey

PROTOCOL = "openid4vp-v1-signed"


def request_claims(request: dict[str, Any], cert: x509.Certificate) -> dict[str, Any]:
    """One request of the API's options, verified as a wallet does: ES256 by the certificate's key."""
    assert request["protocol"] == PROTOCOL
    registry = jws.JWSRegistry(algorithms=["ES256"])
    registry.max_header_length = 8 * 1024  # the header carries the x5c chain
    key = ECKey.import_key(cert.public_key())
    obj = jws.deserialize_compact(request["data"]["request"], key, algorithms=["ES256"], registry=registry)
    claims: dict[str, Any] = json.loads(obj.payload)
    return claims


def sealed_answer(pki: Pki, claims: dict[str, Any]) -> tuple[str, str]:
    """An adult's SD-JWT presentation for the request, encrypted to its key: (the compact JWE the
    wallet answers with, the presentation it seals)."""
    holder = ec.generate_private_key(ec.SECP256R1())
    presentation = present_sd_jwt(
        issue_sd_jwt(pki, {"age_over_18": True}, holder), holder, claims["nonce"], {"age_over_18": True},
        audience=claims["client_id"],
    )  # fmt: skip
    jwk = claims["client_metadata"]["jwks"]["keys"][0]
    sealed = jwe.encrypt_compact(
        {"alg": "ECDH-ES", "enc": "A128GCM", "kid": jwk["kid"]},
        json.dumps({"vp_token": {"age_sd_jwt": [presentation]}}).encode(),
        ECKey.import_key(jwk), algorithms=["ECDH-ES", "A128GCM"],
    )  # fmt: skip
    return sealed, presentation
