"""An OpenID Connect provider of our own on loopback that can misbehave on purpose.

It speaks enough of the protocol for ageband's relying party: discovery, a JWKS, an authorize
endpoint that logs the user in at once and redirects back with a code, and a token endpoint that
authenticates the client and verifies the PKCE S256 ``code_verifier`` (RFC 7636 §4.6). Each test
sets how the next ID tokens are minted: claims overridden (wrong ``aud``, ``iss``, ``nonce``,
expired or future times), or signed wrongly (another key under a published ``kid``, an unknown
``kid``, HS256 keyed with the public key, ``alg: none``, a header respelled with padding). It
counts the requests it serves, so JWKS caching is measured where it matters: at the identity
provider.

With ``claims_at_userinfo_only`` it is a strictly conforming provider in the sense of OpenID
Connect Core §5.4: the user's claims are returned from the UserInfo endpoint, never in the ID
token, unless the ``claims`` request parameter (§5.5) asks for them there. Its UserInfo answer
can be made hostile too: another ``sub``, a signed JWT (well or wrongly signed), an encrypted
one, or an error status.

Runs uvicorn in a thread of the test process on a socket bound to a free loopback port.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import itertools
import json
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlencode

import anyio
import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "ageband-test"
CLIENT_SECRET = "s3cret-for-tests"
Signing = Literal["good", "bad_signature", "unknown_kid", "hs256", "none", "padded"]
UserinfoFormat = Literal[
    "json", "json_without_sub", "jwt", "jwt_bad_signature", "jwt_other_audience", "jwe", "text"
]
# A claim override: a value, a function of the current time, or None to leave the claim out.
Override = Any | Callable[[int], Any] | None


@dataclass
class _Grant:
    redirect_uri: str
    nonce: str | None
    challenge: str
    claims: dict[str, Any]
    sub: str = field(default_factory=lambda: "pairwise-" + secrets.token_hex(8))
    id_token_claims: tuple[str, ...] = ()  # what the claims parameter asked for in the ID token


@dataclass
class HostileIdp:
    issuer: str = ""
    # Claims of the user who logs in next, e.g. {"birthdate": "1990-05-17"}.
    user: dict[str, Any] = field(default_factory=lambda: {"birthdate": "1990-05-17"})
    overrides: dict[str, Override] = field(default_factory=dict)
    signing: Signing = "good"
    # RFC 9207: advertise authorization_response_iss_parameter_supported, and send ``iss`` back.
    advertise_iss: bool = False
    send_iss: bool | None = None  # None: send it when advertised
    token_delay: float = 0.0  # seconds the token endpoint waits before answering
    token_status: int | None = None  # answer the token endpoint with this status instead
    jwks_status: int | None = None  # answer the JWKS endpoint with this status instead
    claims_at_userinfo_only: bool = False  # OIDC Core §5.4: the user's claims only at UserInfo
    userinfo_format: UserinfoFormat = "json"
    userinfo_sub: str | None = None  # answer UserInfo for another subject
    userinfo_status: int | None = None  # answer UserInfo with this status instead
    advertise_userinfo: bool = True
    hits: Counter[str] = field(default_factory=Counter)
    pkce: list[bool] = field(default_factory=list)  # each token request's verifier check
    authorize_queries: list[dict[str, str]] = field(default_factory=list)
    _keys: list[RSAKey] = field(default_factory=list)
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _access: dict[str, _Grant] = field(default_factory=dict)
    _stranger: RSAKey | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        # Distinct key material per live instance (two IdPs in one test never share a key).
        slot = next(_INSTANCES) % _POOL
        self._keys = [_rsa("k1", slot)]
        self._stranger = _rsa("stranger", _POOL + slot)  # never published: signs the forgeries

    # --- what the tests change ---------------------------------------------------------------

    def rotate(self) -> str:
        """Publish a new signing key and withdraw the old one; returns the new ``kid``."""
        kid = f"k-{secrets.token_hex(4)}"
        self._keys = [_rsa(kid, None)]
        return kid

    @property
    def kid(self) -> str:
        return str(self._keys[-1].kid)

    def reset_counts(self) -> None:
        self.hits.clear()
        self.pkce.clear()

    # --- the identity provider ---------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/userinfo", self._userinfo, methods=["GET", "POST"]),
            ]
        )

    async def _discovery(self, request: Request) -> Response:
        self.hits["discovery"] += 1
        doc: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }
        if self.advertise_iss:
            doc["authorization_response_iss_parameter_supported"] = True
        if self.advertise_userinfo:
            doc["userinfo_endpoint"] = self.issuer + "/userinfo"
            doc["claims_parameter_supported"] = True
        return JSONResponse(doc)

    async def _jwks(self, request: Request) -> Response:
        self.hits["jwks"] += 1
        if self.jwks_status is not None:
            return JSONResponse({"error": "server_error"}, status_code=self.jwks_status)
        return JSONResponse({"keys": [k.as_dict(private=False) for k in self._keys]})

    async def _authorize(self, request: Request) -> Response:
        """Logs ``user`` in at once and redirects back with a code (no login page)."""
        self.hits["authorize"] += 1
        q = dict(request.query_params)
        self.authorize_queries.append(q)
        ok = (
            q.get("response_type") == "code"
            and q.get("client_id") == CLIENT_ID
            and q.get("code_challenge_method") == "S256"
            and len(q.get("code_challenge", "")) == 43
            and q.get("redirect_uri", "").startswith("http://localhost/v1/oidc/")
            and "openid" in q.get("scope", "").split()
        )
        if not ok:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(24)
        try:
            requested = json.loads(q.get("claims", "{}")).get("id_token") or {}
        except (ValueError, AttributeError):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        self._grants[code] = _Grant(
            q["redirect_uri"],
            q.get("nonce"),
            q["code_challenge"],
            dict(self.user),
            id_token_claims=tuple(requested),
        )
        back = {"code": code, "state": q.get("state", "")}
        if self.send_iss if self.send_iss is not None else self.advertise_iss:
            back["iss"] = self.issuer
        return RedirectResponse(q["redirect_uri"] + "?" + urlencode(back), status_code=302)

    async def _token(self, request: Request) -> Response:
        self.hits["token"] += 1
        waited = 0.0
        while waited < self.token_delay and not self._stopping.is_set():
            await anyio.sleep(0.05)
            waited += 0.05
        if self.token_status is not None:
            return JSONResponse({"error": "server_error"}, status_code=self.token_status)
        if not _client_authenticated(request.headers.get("authorization", "")):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        grant = self._grants.pop(str(form.get("code", "")), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        verified = hmac.compare_digest(_s256(verifier), grant.challenge)
        self.pkce.append(verified)
        if not verified or form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        id_token = self._id_token(grant)
        access_token = secrets.token_urlsafe(16)
        self._access[access_token] = grant
        return JSONResponse({"access_token": access_token, "token_type": "Bearer", "id_token": id_token})

    async def _userinfo(self, request: Request) -> Response:
        self.hits["userinfo"] += 1
        if self.userinfo_status is not None:
            return JSONResponse({"error": "server_error"}, status_code=self.userinfo_status)
        grant = self._access.get(request.headers.get("authorization", "").removeprefix("Bearer "))
        if grant is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        claims = {"sub": self.userinfo_sub or grant.sub, **grant.claims}
        fmt = self.userinfo_format
        if fmt == "json":
            return JSONResponse(claims)
        if fmt == "json_without_sub":
            return JSONResponse({k: v for k, v in claims.items() if k != "sub"})
        if fmt == "text":
            return Response(json.dumps(claims), media_type="text/plain")
        if fmt == "jwe":  # five segments: an encrypted response this relying party cannot read
            return Response("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", media_type="application/jwt")
        key = self._keys[-1]
        signed = {"iss": self.issuer, "aud": CLIENT_ID, **claims}
        if fmt == "jwt_other_audience":
            signed["aud"] = "someone-else"
        signer = self._stranger if fmt == "jwt_bad_signature" else key
        token = jwt.encode({"alg": "RS256", "kid": key.kid}, signed, signer)
        return Response(token, media_type="application/jwt")

    def _id_token(self, grant: _Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "pairwise-" + secrets.token_hex(8),
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            **grant.claims,
        }
        claims["sub"] = grant.sub
        if self.claims_at_userinfo_only:  # only what the claims parameter asked for here
            claims = {k: v for k, v in claims.items() if k not in grant.claims or k in grant.id_token_claims}
        for name, value in self.overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value(now) if callable(value) else value
        key = self._keys[-1]
        if self.signing == "good":
            return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        if self.signing == "padded":  # correctly signed, its header respelled with base64 padding
            header, rest = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key).split(".", 1)
            return header + "=" * (-len(header) % 4 or 4) + "." + rest
        if self.signing == "bad_signature":  # an unpublished key, under the published key's id
            return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, self._stranger)
        if self.signing == "unknown_kid":  # a fresh key id each time
            kid = "unpublished-" + secrets.token_hex(4)
            return jwt.encode({"alg": "RS256", "kid": kid}, claims, self._stranger)
        if self.signing == "hs256":  # the classic confusion: the public key as an HMAC secret
            return _compact({"alg": "HS256", "kid": key.kid}, claims, key.as_pem(private=False))
        return _compact({"alg": "none"}, claims, None)


_POOL = 4
_INSTANCES = itertools.count()


@functools.cache
def _material(slot: int) -> bytes:
    """RSA key material reused across tests of one process: generating a key is slow."""
    return RSAKey.generate_key(2048).as_pem(private=True)


def _rsa(kid: str, slot: int | None) -> RSAKey:
    """A key under ``kid``: from the pool's ``slot``, or freshly generated when None."""
    parameters = {"kid": kid, "use": "sig", "alg": "RS256"}
    if slot is None:
        return RSAKey.generate_key(2048, parameters=parameters)
    return RSAKey.import_key(_material(slot), parameters=parameters)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _s256(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _compact(header: dict[str, Any], claims: dict[str, Any], hs_secret: bytes | None) -> str:
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    if hs_secret is None:
        return signing_input + "."
    return signing_input + "." + _b64(hmac.new(hs_secret, signing_input.encode(), hashlib.sha256).digest())


def _client_authenticated(header: str) -> bool:
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return False
    return unquote(user) == CLIENT_ID and hmac.compare_digest(unquote(password), CLIENT_SECRET)


@contextmanager
def hostile_idp(**settings: Any) -> Iterator[HostileIdp]:
    """Serve a HostileIdp on a free loopback port until the block ends."""
    idp = HostileIdp(**settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    idp.issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        idp.app(), log_config=None, log_level="warning", access_log=False, lifespan="off",
        http="h11", ws="none", loop="asyncio", timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the hostile identity provider did not start")
        time.sleep(0.01)
    try:
        yield idp
    finally:
        idp._stopping.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
