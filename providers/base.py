"""The provider Protocol and the values that cross it.

Evidence is a plain mapping that lives only for the duration of ``submit``; a provider
returns a Signal (an age interval plus what kind of method produced it) or a Failure with
a stable reason code. Providers see only ``service.core``: never the store, tokens or policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable

from service.core.bands import BandSet
from service.core.intervals import AgeInterval


class Flow(StrEnum):
    SUBMIT = "submit"  # evidence is posted directly
    REDIRECT = "redirect"  # the user is sent to a third party and comes back


@dataclass(frozen=True, slots=True)
class MethodParams:
    """What the policy says about the method this provider serves in one check."""

    name: str
    buffer: float = 0.0
    sigma_k: float = 1.0
    max_sigma: float | None = None
    liveness: bool = False
    # Estimates: years added to the point estimate for the upper edge (see Signal.at_most).
    upper_margin: float = 0.0


@dataclass(frozen=True, slots=True)
class ProviderContext:
    now: datetime
    bands: BandSet
    method: MethodParams
    # A per-check value that a presentation (a wallet's credential) must be bound to; the flow
    # derives it from the check, so a presentation made for one check fails in any other.
    nonce: str | None = None


@dataclass(frozen=True, slots=True)
class Signal:
    interval: AgeInterval
    method_class: str
    # How the provider knows, e.g. an OS signal's source tier; the policy maps it to a level.
    qualifier: str | None = None
    # Only for exact intervals: when the next band starts, rounded up to a month.
    age_up_at: date | None = None
    # Names (never values) of what was derived, for the data-minimisation log.
    attributes: tuple[str, ...] = ()
    # A digest of the presentation, when the evidence must never be accepted twice; the flow
    # marks it used (atomically) before it counts the signal.
    replay_key: str | None = None
    # The oldest age the evidence allows when it bounds the age from above (a band's upper
    # edge, for children's spaces); None: the interval's own ``hi``. An estimate sets it from
    # the point estimate, as its buffered ``hi`` is meant to protect the lower edge.
    at_most: int | None = None

    @property
    def upper_bound(self) -> int | None:
        """What this signal says the age is at most (None: nothing, unbounded)."""
        return self.at_most if self.at_most is not None else self.interval.hi


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str  # stable reason code, e.g. "signal_unavailable", "liveness_failed"
    circumvention: bool = False  # counts as a circumvention signal


@dataclass(frozen=True, slots=True)
class Unavailability:
    reason: str
    retry_after: float | None = None  # seconds until it may be back, when known (an open circuit)


Outcome = Signal | Failure
# What a redirect provider's callback yields before the check is touched: the verified claims
# (evidence: memory only, cleared after ``complete``), or why the callback was refused.
Redeemed = dict[str, Any] | Failure


@runtime_checkable
class Provider(Protocol):
    method_class: ClassVar[str]
    evidence_kinds: ClassVar[tuple[str, ...]]
    flow: ClassVar[Flow]

    @property
    def name(self) -> str: ...

    def unavailable(self) -> Unavailability | None:
        """Why the provider cannot run here (e.g. a missing extra), or None when it can."""

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        """Derive a signal. Raise ``InvalidEvidence`` for evidence that does not fit the schema;
        the message names fields, never their values."""


@runtime_checkable
class Closeable(Protocol):
    """Optional for a provider: one that holds resources (a connection pool to its vendor)
    implements ``aclose``, and the service calls it once at shutdown. It must be safe to call
    before any use and more than once."""

    async def aclose(self) -> None: ...


@runtime_checkable
class CircuitReporting(Protocol):
    """Optional for a provider behind a circuit breaker: its state, ``"closed"``, ``"half_open"``
    or ``"open"``, which the service reads at every metrics scrape."""

    @property
    def circuit_state(self) -> str: ...


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """What the flow keeps between a redirect provider's start and its callback."""

    state: str
    nonce: str
    code_verifier: str  # PKCE (RFC 7636); the challenge sent is its S256 hash


@runtime_checkable
class RedirectProvider(Provider, Protocol):
    """A provider that sends the user to a third party (``flow = Flow.REDIRECT``).

    It never keeps anything between the two calls: the flow stores the request and hands it
    back, once, with the callback's query parameters.
    """

    @property
    def redirect_uri(self) -> str: ...

    async def authorization_url(self, request: AuthorizationRequest) -> str:
        """Where to send the user. Raise ``Unavailable`` when the third party cannot be reached."""

    async def redeem(
        self, params: Mapping[str, str], request: AuthorizationRequest, now: datetime
    ) -> Redeemed:
        """Check the callback and redeem it at the third party (exchange the code, validate what
        comes back). Raise ``Unavailable`` when the third party cannot be reached in time: the
        flow runs this before it touches the check, so an outage spends none of its attempts."""

    async def complete(self, redeemed: Redeemed, ctx: ProviderContext) -> Outcome:
        """Derive the signal from what ``redeem`` verified (or pass its Failure on)."""


@runtime_checkable
class PresentationProvider(Provider, Protocol):
    """A provider that verifies a presentation bound to ``ProviderContext.nonce``."""

    def presentation_request(self, nonce: str) -> Mapping[str, Any]:
        """What a wallet needs to make the presentation: audience, nonce, accepted formats."""


@dataclass(frozen=True, slots=True)
class WalletChannel:
    """How a wallet's OpenID4VP response reached ageband's own endpoints: what the flow knows
    for certain (the presentation binds to it), never taken from the wallet's word.

    ``response_uri``: the check's ``direct_post`` endpoint (redirect handover); ``origin``: the
    web origin of a Digital Credentials API request (DC API handover); ``thumbprint``: the JWK
    thumbprint of the check's response encryption key, when the response came encrypted;
    ``signed``: the DC API request was signed."""

    response_uri: str | None = None
    origin: str | None = None
    thumbprint: bytes | None = None
    signed: bool = False


@dataclass(frozen=True, slots=True)
class WalletRequest:
    """What ageband asks of a wallet for one check (OpenID4VP 1.0 authorization request).

    ``response_mode`` is ``direct_post``, ``direct_post.jwt``, ``dc_api`` or ``dc_api.jwt``;
    ``encryption_jwk`` the public JWK of the check's response encryption key (the ``.jwt``
    modes); ``origin`` the page's origin (DC API); ``wallet_nonce`` a wallet's nonce from a
    ``request_uri_method=post`` request; ``signed``: the request goes as a signed request object
    (an unsigned one names no client id over the DC API and carries no JWT claims)."""

    nonce: str
    state: str | None
    response_mode: str
    response_uri: str | None = None
    encryption_jwk: Mapping[str, Any] | None = None
    origin: str | None = None
    wallet_nonce: str | None = None
    signed: bool = False


@runtime_checkable
class WalletProvider(PresentationProvider, Protocol):
    """A presentation provider that ageband hosts the OpenID4VP request and response side for."""

    @property
    def signs_requests(self) -> bool:
        """Whether the instance has a request signing key (signed request objects, JAR)."""

    @property
    def response_encryption(self) -> tuple[str, ...]:
        """The JWE ``enc`` values offered for encrypted responses (``alg`` is ECDH-ES)."""

    def allows_origin(self, origin: str) -> bool:
        """Whether a Digital Credentials API request may be made for this web origin."""

    def authorization_request(self, request: WalletRequest, now: datetime) -> Mapping[str, Any]:
        """The request's parameters: as a signed request object's claims (``signs_requests``)
        or, unsigned, as they go to the wallet by value."""

    def sign_request(self, claims: Mapping[str, Any]) -> str:
        """The signed request object (``oauth-authz-req+jwt``) for ``claims``."""

    async def submit_response(
        self, vp_token: Mapping[str, Any], ctx: ProviderContext, channel: WalletChannel
    ) -> Outcome:
        """Verify the ``vp_token`` of a response that reached ageband over ``channel``."""


class ProviderFactory(Protocol):
    """What an entry point names: usually the provider class itself."""

    def __call__(self, name: str, config: Mapping[str, Any]) -> Provider: ...


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    name: str
    method_class: str
    flow: Flow
    evidence_kinds: tuple[str, ...]
    available: bool
    unavailable_reason: str | None = None
    config_keys: tuple[str, ...] = field(default_factory=tuple)
