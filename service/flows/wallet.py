"""The OpenID4VP 1.0 request and response side that ageband hosts for wallet methods.

- **Request objects** (``request_uri``, JAR): ``GET``/``POST /v1/wallet/{method}/{check}/request``
  answers the signed request for the check (``x509_san_dns`` or ``x509_hash`` client id).
- **Responses**: ``POST /v1/wallet/{method}/{check}/response`` takes ``direct_post``
  (``vp_token`` and ``state``) or ``direct_post.jwt`` (``response``, a JWE).
- **Digital Credentials API**: a request for ``navigator.credentials.get`` (signed or unsigned)
  and the verification of what the page gets back.

Nothing is stored: the nonce, the ``state`` and the check's **response encryption key** are all
derived from the pepper, the check and the method. The key is an ECDH-ES P-256 key of its own
for every check and method (HKDF of the pepper), made again when the response arrives and
never written anywhere; its JWK thumbprint goes into the mdoc SessionTranscript when the
response was encrypted (OpenID4VP 1.0 Appendix B.2.6). A response is verified against what the
flow itself knows of the channel (its endpoint, the key it decrypted with, the page's origin),
never against what the wallet says of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from providers.base import Failure, WalletChannel, WalletProvider, WalletRequest
from providers.credentials.errors import UNSUPPORTED_HANDOVER
from providers.registry import Registry
from service.clients.registry import Client, ClientRegistry
from service.core import base64url
from service.core.clock import Clock
from service.core.ids import check_expiry
from service.flows.check_evidence import submit_evidence
from service.flows.check_flow import CheckFlow
from service.flows.checks import get_check
from service.flows.errors import (
    CheckClosed,
    CheckExpired,
    InvalidWalletResponse,
    MethodNotAllowed,
    MethodUnavailable,
    OriginNotAllowed,
    UnknownCheck,
    UnknownMethod,
    WalletUnavailable,
)
from service.flows.presentations import presentation_nonce
from service.flows.results import EvidenceResult
from service.policy.holder import PolicyHolder
from service.store.records import CheckStatus
from service.store.roles import CheckStore

DIRECT_POST = "direct_post"
DIRECT_POST_JWT = "direct_post.jwt"
DC_API = "dc_api"
DC_API_JWT = "dc_api.jwt"
SIGNED = "openid4vp-v1-signed"
UNSIGNED = "openid4vp-v1-unsigned"
# DC API protocols ageband recognises but does not speak: a response over one of them is an
# interop failure (unsupported_handover), not a forgery.
FOREIGN_PROTOCOLS = frozenset({"org-iso-mdoc", "openid4vp", "openid4vp-v1-multisigned", "preview"})
MAX_JWE = 1024 * 1024
MAX_STATE = 128


@dataclass(frozen=True, slots=True)
class WalletFlow:
    """What the wallet side of a check touches: the check flow it completes, the check itself
    (a wallet's response names only the check, and the check its client), the clients, and
    where wallets reach this service."""

    policy: PolicyHolder
    providers: Registry
    clock: Clock
    pepper: bytes  # nonces, state and the response key, derived per check
    checks: CheckStore
    clients: ClientRegistry
    # Where wallets reach this service (the OpenID4VP request_uri and response_uri); None: not set.
    public_url: str | None
    checking: CheckFlow


@dataclass(frozen=True, slots=True)
class WalletLinks:
    """Where a wallet gets the check's request: a link for the same device and for a QR code."""

    request_uri: str | None
    authorization_request: str
    response_mode: str


# --- what is derived, never stored ----------------------------------------------------------


def response_key(pepper: bytes, check_id: str, method: str) -> ECKey:
    """The check's response encryption key (ECDH-ES, P-256), the same every time it is made."""
    info = b"ageband/response-key\x00" + check_id.encode() + b"\x00" + method.encode()
    seed = HKDF(algorithm=hashes.SHA256(), length=48, salt=None, info=info).derive(pepper)
    # 384 bits reduced modulo the group order: a uniform scalar for every practical purpose.
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    private = ec.derive_private_key(int.from_bytes(seed, "big") % (order - 1) + 1, ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ECKey.import_key(pem, {"use": "enc", "alg": "ECDH-ES", "kid": _kid(check_id, method)})


def public_jwk(key: ECKey) -> dict[str, Any]:
    jwk = key.as_dict(private=False)
    return {k: jwk[k] for k in ("kty", "crv", "x", "y", "use", "alg", "kid") if k in jwk}


def thumbprint(key: ECKey) -> bytes:
    """RFC 7638 SHA-256 JWK thumbprint, as the SessionTranscript carries it."""
    return base64url.decode(key.thumbprint())


def wallet_state(pepper: bytes, check_id: str, method: str) -> str:
    msg = b"ageband/wallet-state\x00" + check_id.encode() + b"\x00" + method.encode()
    return base64.urlsafe_b64encode(hmac.new(pepper, msg, hashlib.sha256).digest()).rstrip(b"=").decode()


def _kid(check_id: str, method: str) -> str:
    return hashlib.sha256(f"{check_id}\x00{method}".encode()).hexdigest()[:16]


def _urls(svc: WalletFlow, method: str, check_id: str) -> tuple[str, str]:
    if svc.public_url is None:
        raise WalletUnavailable("AGEBAND_HTTP__PUBLIC_URL is not set: wallets cannot reach this service")
    base = f"{svc.public_url.rstrip('/')}/v1/wallet/{method}/{check_id}"
    return base + "/request", base + "/response"


# --- who may ask ----------------------------------------------------------------------------


async def _pending_wallet(svc: WalletFlow, client: Client, check_id: str, method: str) -> WalletProvider:
    """The method's provider, for a pending check of ``client`` that offers it."""
    view = await get_check(svc.checking, client, check_id, None)
    if view.status is not CheckStatus.PENDING:
        raise CheckClosed(f"the check is {view.status.value}", status_now=view.status.value)
    juris = svc.policy.current.jurisdiction(view.jurisdiction)
    if method not in svc.policy.current.methods:
        raise UnknownMethod("the method is not one of this jurisdiction's", known=list(juris.waterfall))
    if method not in juris.waterfall:
        raise MethodNotAllowed(f"{method!r} is not offered here", allowed=list(juris.waterfall))
    provider = svc.providers.get(method)
    if provider is None:
        raise MethodUnavailable(f"{method!r} is not enabled on this deployment")
    if not isinstance(provider, WalletProvider):
        raise UnknownMethod("the method does not take wallet presentations", known=list(juris.waterfall))
    return provider


async def _check_owner(svc: WalletFlow, check_id: str) -> Client:
    """The client a check belongs to, for the endpoints a wallet calls (no API key)."""
    expiry = check_expiry(check_id) if len(check_id) <= 64 else None
    if expiry is None:
        raise UnknownCheck("unknown check")
    check = await svc.checks.get_check(check_id)
    if check is None:
        if expiry <= svc.clock.now().timestamp():
            raise CheckExpired("the check has expired; start a new one")
        raise UnknownCheck("unknown check")
    if check.expires_at <= svc.clock.now().timestamp():
        raise CheckExpired("the check has expired; start a new one")
    client = svc.clients.get(check.client_id)
    if client is None:
        raise UnknownCheck("unknown check")
    return client


# --- request side ---------------------------------------------------------------------------


async def wallet_links(
    svc: WalletFlow, client: Client, check_id: str, method: str, encrypted: bool = True
) -> WalletLinks:
    """The same-device link and QR content for a check: by reference to a signed request object
    when the instance signs requests, else the request's parameters by value."""
    provider = await _pending_wallet(svc, client, check_id, method)
    request_uri, response_uri = _urls(svc, method, check_id)
    mode = DIRECT_POST_JWT if encrypted else DIRECT_POST
    if provider.signs_requests:
        by_ref = f"{request_uri}?{urlencode({'response_mode': mode})}"
        client_id = provider.presentation_request("")["client_id"]
        link = "openid4vp://?" + urlencode({"client_id": client_id, "request_uri": by_ref})
        return WalletLinks(by_ref, link, mode)
    claims = provider.authorization_request(
        _request(svc, check_id, method, mode, response_uri, None, None, signed=False), svc.clock.now()
    )
    params = {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in claims.items()}
    return WalletLinks(None, "openid4vp://?" + urlencode(params), mode)


def _request(
    svc: WalletFlow,
    check_id: str,
    method: str,
    mode: str,
    response_uri: str | None,
    origin: str | None,
    wallet_nonce: str | None,
    signed: bool = True,
) -> WalletRequest:
    encrypted = mode in (DIRECT_POST_JWT, DC_API_JWT)
    return WalletRequest(
        nonce=presentation_nonce(svc.pepper, check_id, method),
        state=wallet_state(svc.pepper, check_id, method) if response_uri is not None else None,
        response_mode=mode,
        response_uri=response_uri,
        encryption_jwk=public_jwk(response_key(svc.pepper, check_id, method)) if encrypted else None,
        origin=origin,
        wallet_nonce=wallet_nonce,
        signed=signed,
    )


async def request_object(
    svc: WalletFlow, method: str, check_id: str, response_mode: str, wallet_nonce: str | None
) -> str:
    """The check's signed request object, for a wallet that follows ``request_uri``."""
    if response_mode not in (DIRECT_POST, DIRECT_POST_JWT):
        raise InvalidWalletResponse("response_mode must be direct_post or direct_post.jwt")
    client = await _check_owner(svc, check_id)
    provider = await _pending_wallet(svc, client, check_id, method)
    if not provider.signs_requests:
        raise WalletUnavailable("this method's instance has no request signing key")
    _, response_uri = _urls(svc, method, check_id)
    request = _request(svc, check_id, method, response_mode, response_uri, None, wallet_nonce)
    return provider.sign_request(provider.authorization_request(request, svc.clock.now()))


async def dc_api_request(
    svc: WalletFlow, client: Client, check_id: str, method: str, origin: str, signed: bool, encrypted: bool
) -> dict[str, Any]:
    """What a page passes to ``navigator.credentials.get({digital: ...})`` (OpenID4VP 1.0 Annex A)."""
    provider = await _pending_wallet(svc, client, check_id, method)
    if not provider.allows_origin(origin):
        raise OriginNotAllowed("the origin is not among this method's configured origins")
    if signed and not provider.signs_requests:
        raise WalletUnavailable("this method's instance has no request signing key")
    mode = DC_API_JWT if encrypted else DC_API
    request = _request(svc, check_id, method, mode, None, origin, None, signed=signed)
    claims = provider.authorization_request(request, svc.clock.now())
    if signed:
        data: dict[str, Any] = {"request": provider.sign_request(claims)}
        return {"requests": [{"protocol": SIGNED, "data": data}]}
    return {"requests": [{"protocol": UNSIGNED, "data": dict(claims)}]}


# --- response side --------------------------------------------------------------------------


def _decrypt(
    svc: WalletFlow, check_id: str, method: str, token: str, encs: tuple[str, ...]
) -> dict[str, Any]:
    """The payload of a response encrypted to the check's key: ECDH-ES only, an offered enc."""
    if len(token) > MAX_JWE or not token.isascii() or token.count(".") != 4:
        raise InvalidWalletResponse("the response is not a compact JWE")
    key = response_key(svc.pepper, check_id, method)
    try:
        header = json.loads(base64url.decode(token.split(".", 1)[0]))
        if not isinstance(header, dict) or header.get("alg") != "ECDH-ES" or header.get("enc") not in encs:
            raise InvalidWalletResponse("the response must be ECDH-ES with an offered enc")
        plain = jwe.decrypt_compact(token, key, algorithms=["ECDH-ES", *encs]).plaintext
        payload = json.loads(plain or b"")
    except (JoseError, ValueError, UnicodeDecodeError):
        raise InvalidWalletResponse("the response does not decrypt with this check's key") from None
    if not isinstance(payload, dict):
        raise InvalidWalletResponse("the decrypted response is not a JSON object")
    return payload


def _vp_token(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidWalletResponse("vp_token is not a JSON object") from None
    if not isinstance(value, dict) or len(value) != 1:
        raise InvalidWalletResponse("vp_token must answer the one credential query of the request")
    (presentations,) = value.values()
    if (
        not isinstance(presentations, list)
        or len(presentations) != 1
        or not isinstance(presentations[0], str)
    ):
        raise InvalidWalletResponse("vp_token must hold exactly one presentation, as a string")
    return value


async def _verify(
    svc: WalletFlow,
    client: Client,
    check_id: str,
    method: str,
    provider: WalletProvider,
    vp_token: dict[str, Any] | None,
    channel: WalletChannel,
    size: int,
    locale: str | None,
    *,
    hand_over: bool = True,
) -> EvidenceResult:
    # The vp_token goes in the evidence, which the flow clears once the provider returns.
    evidence: dict[str, Any] = {"vp_token": vp_token} if vp_token is not None else {}

    async def run(ctx: Any) -> Any:
        if "vp_token" not in evidence:
            return Failure(UNSUPPORTED_HANDOVER)
        return await provider.submit_response(evidence["vp_token"], ctx, channel)

    return await submit_evidence(
        svc.checking, client, check_id, method, evidence, size, locale, run=run, hand_over=hand_over
    )


async def direct_post(svc: WalletFlow, method: str, check_id: str, form: Mapping[str, str], size: int) -> str:
    """A wallet's ``direct_post`` or ``direct_post.jwt`` response; the check's outcome."""
    client = await _check_owner(svc, check_id)
    provider = await _pending_wallet(svc, client, check_id, method)
    _, response_uri = _urls(svc, method, check_id)
    key = response_key(svc.pepper, check_id, method)
    if "response" in form:
        payload: Mapping[str, Any] = _decrypt(
            svc, check_id, method, form["response"], provider.response_encryption
        )
        channel = WalletChannel(response_uri=response_uri, thumbprint=thumbprint(key))
    else:
        payload = form
        channel = WalletChannel(response_uri=response_uri)
    state = payload.get("state")
    expected = wallet_state(svc.pepper, check_id, method)
    if not isinstance(state, str) or not hmac.compare_digest(state.encode()[:MAX_STATE], expected.encode()):
        raise InvalidWalletResponse("the response's state is not this check's")
    if "error" in payload and "vp_token" not in payload:
        return "declined"  # the user said no in the wallet: nothing to verify, nothing spent
    result = await _verify(
        svc,
        client,
        check_id,
        method,
        provider,
        _vp_token(payload.get("vp_token")),
        channel,
        size,
        None,
        hand_over=False,  # the wallet answers, not the app: an anonymous check keeps its token for the app
    )
    return result.outcome


async def dc_api_response(
    svc: WalletFlow,
    client: Client,
    check_id: str,
    method: str,
    origin: str,
    protocol: str,
    data: Mapping[str, Any],
    size: int,
    locale: str | None,
    *,
    hand_over: bool = True,
) -> EvidenceResult:
    """What ``navigator.credentials.get`` gave the page, verified for this check and origin.
    ``hand_over`` False: the hosted page relays it (an anonymous check keeps its token for the app)."""
    provider = await _pending_wallet(svc, client, check_id, method)
    if not provider.allows_origin(origin):
        raise OriginNotAllowed("the origin is not among this method's configured origins")
    if protocol in FOREIGN_PROTOCOLS:
        # A wallet that answered over a protocol ageband does not speak: an interop failure.
        channel = WalletChannel(origin=origin)
        return await _verify(
            svc, client, check_id, method, provider, None, channel, size, locale, hand_over=hand_over
        )
    if protocol not in (SIGNED, UNSIGNED):
        raise InvalidWalletResponse("unknown Digital Credentials API protocol")
    key = response_key(svc.pepper, check_id, method)
    encrypted = "response" in data
    if encrypted:
        token = data.get("response")
        if not isinstance(token, str):
            raise InvalidWalletResponse("response must be a compact JWE")
        data = _decrypt(svc, check_id, method, token, provider.response_encryption)
    channel = WalletChannel(
        origin=origin, thumbprint=thumbprint(key) if encrypted else None, signed=protocol == SIGNED
    )
    vp_token = _vp_token(data.get("vp_token"))
    return await _verify(
        svc, client, check_id, method, provider, vp_token, channel, size, locale, hand_over=hand_over
    )
