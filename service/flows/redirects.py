"""Redirect methods (eID logins): start sends the user to the identity provider, the callback
completes the check and sends the user back to the app.

State, nonce and PKCE verifier are sealed into the ``state`` parameter itself (AES-GCM under a
key derived from the pepper, with the provider's name as associated data) together with the
check, the client, the return URL and an expiry at most 10 minutes away. So nothing is stored
before the callback, and a state made for one identity provider fails at another's callback.
At the callback the state is marked used (``use_once``, atomic) before the code is redeemed:
a replayed callback is refused, whoever sends it first. The code is redeemed and the ID token
validated before the check is touched, so an identity provider that is down changes nothing
but that marker.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from providers.base import AuthorizationRequest, RedirectProvider
from service.clients.registry import Client, ClientRegistry
from service.core import base64url
from service.flows.check_evidence import submit_evidence
from service.flows.check_flow import CheckFlow
from service.flows.checks import get_check
from service.flows.errors import (
    CheckClosed,
    InvalidState,
    MethodNotAllowed,
    MethodUnavailable,
    ReturnUrlNotAllowed,
    StateUsed,
    UnknownMethod,
    UnknownProvider,
)
from service.store.records import CheckStatus

STATE_TTL = 600  # seconds: a login that takes longer starts again
MAX_STATE = 2048


@dataclass(frozen=True, slots=True)
class _Sealed:
    check_id: str
    client_id: str
    return_url: str
    nonce: str
    verifier: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class Completed:
    location: str  # the app's return URL with check_id and outcome
    outcome: str


def _key(pepper: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ageband/redirect-state")
    return AESGCM(hkdf.derive(pepper))


def _seal(pepper: bytes, provider: str, s: _Sealed) -> str:
    iv = secrets.token_bytes(12)
    body = json.dumps([s.check_id, s.client_id, s.return_url, s.nonce, s.verifier, s.expires_at]).encode()
    blob = iv + _key(pepper).encrypt(iv, body, provider.encode())
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode()


def _unseal(svc: CheckFlow, provider: str, state: str) -> _Sealed:
    if not state or len(state) > MAX_STATE:
        raise InvalidState("the callback's state is missing or malformed")
    try:
        # Canonical only: the state's digest is its single-use marker (one spelling per state).
        blob = base64url.decode(state)
        body = _key(svc.pepper).decrypt(blob[:12], blob[12:], provider.encode())
        check_id, client_id, return_url, nonce, verifier, expires_at = json.loads(body)
    except (InvalidTag, ValueError, TypeError):
        raise InvalidState("the callback's state is not one of ours") from None
    sealed = _Sealed(check_id, client_id, return_url, nonce, verifier, int(expires_at))
    if sealed.expires_at <= svc.clock.now().timestamp():
        raise InvalidState("the callback's state has expired; start again")
    return sealed


async def _redirect_provider(svc: CheckFlow, client: Client, check_id: str, name: str) -> RedirectProvider:
    view = await get_check(svc, client, check_id, None)
    if view.status is not CheckStatus.PENDING:
        raise CheckClosed(f"the check is {view.status.value}", status_now=view.status.value)
    juris = svc.policy.current.jurisdiction(view.jurisdiction)
    provider = svc.providers.get(name)
    if provider is None and name in svc.policy.current.methods:
        raise MethodUnavailable(f"{name!r} is not enabled on this deployment")
    if not isinstance(provider, RedirectProvider):
        raise UnknownProvider(
            f"no OpenID Connect provider {name!r} on this deployment", known=_redirects(svc)
        )
    if name not in svc.policy.current.methods:
        raise UnknownMethod("the provider is not a method of the policy", known=list(juris.waterfall))
    if name not in juris.waterfall:
        raise MethodNotAllowed(f"{name!r} is not offered here", allowed=list(juris.waterfall))
    return provider


def _redirects(svc: CheckFlow) -> list[str]:
    return [n for n in svc.providers.names if isinstance(svc.providers.get(n), RedirectProvider)]


async def start_redirect(
    svc: CheckFlow, client: Client, check_id: str, name: str, return_url: str, *, to_page: bool = False
) -> str:
    """The identity provider's authorization URL for this check. Nothing is stored.

    ``to_page``: the return URL is the hosted check page's own address (made by the service,
    never by a request), not one of the client's."""
    # The provider first: a name that answers nowhere is the caller's mistake to hear of, even
    # when its return URL is wrong too.
    provider = await _redirect_provider(svc, client, check_id, name)
    if not to_page and not client.allows_return_url(return_url):
        raise ReturnUrlNotAllowed("the return URL is not on this client's allowlist")
    view = await get_check(svc, client, check_id, None)
    now = int(svc.clock.now().timestamp())
    expires = min(now + STATE_TTL, int(view.expires_at.timestamp()))
    sealed = _Sealed(
        check_id, client.id, return_url, secrets.token_urlsafe(32), secrets.token_urlsafe(64), expires
    )
    state = _seal(svc.pepper, name, sealed)
    return await provider.authorization_url(AuthorizationRequest(state, sealed.nonce, sealed.verifier))


async def finish_redirect(
    svc: CheckFlow, clients: ClientRegistry, name: str, params: Mapping[str, str]
) -> Completed:
    """Complete the check from the callback (whose client only the sealed state names); where to
    send the user next."""
    provider = svc.providers.get(name)
    if not isinstance(provider, RedirectProvider):
        raise UnknownProvider(f"no OpenID Connect provider {name!r} on this deployment")
    state = params.get("state", "")
    sealed = _unseal(svc, name, state)
    client = clients.get(sealed.client_id)
    if client is None:
        raise InvalidState("the callback's state is not one of ours")
    ttl = max(1, sealed.expires_at - int(svc.clock.now().timestamp()) + 60)
    if not await svc.once.use_once("redirect-state:" + hashlib.sha256(state.encode()).hexdigest(), ttl):
        raise StateUsed("this callback was already used; start again")
    await _redirect_provider(svc, client, sealed.check_id, name)  # still pending and offered
    request = AuthorizationRequest(state, sealed.nonce, sealed.verifier)
    callback = {k: v for k, v in params.items() if k in ("code", "iss", "error")}
    # Redeemed before the check is touched: an identity provider that is down or slow gives a
    # 503 that leaves the check, its attempts and the abuse counters as they were.
    redeemed = await provider.redeem(callback, request, svc.clock.now())
    evidence = redeemed if isinstance(redeemed, dict) else {}
    result = await submit_evidence(
        svc, client, sealed.check_id, name, evidence, 0, None,
        run=lambda ctx: provider.complete(evidence if isinstance(redeemed, dict) else redeemed, ctx),
        hand_over=False,  # the browser comes back, not the app: an anonymous check keeps its token
    )  # fmt: skip
    query = {"check_id": sealed.check_id, "outcome": result.outcome}
    if result.reason:
        query["reason"] = result.reason
    sep = "&" if urlsplit(sealed.return_url).query else "?"
    return Completed(sealed.return_url + sep + urlencode(query), result.outcome)
