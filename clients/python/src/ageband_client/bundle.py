"""Deciding offline from the signed policy bundle (``GET /v1/policy/bundle``), with the server's
answers: the README's "Deciding offline" section is the contract this follows.

Fail closed: a bundle that does not verify is refused whole, a bundle past its ``exp`` decides
nothing (``BundleExpired``), and ``is_allowed`` answers False on any error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ageband_client._jose import JoseFailure, verified_payload
from ageband_client.keys import KeySet
from ageband_client.tokens import AgeToken, Party

BUNDLE_TYPE = "ageband-bundle+jwt"
BUNDLE_VERSION = 2
LEEWAY = 30  # seconds of clock skew tolerated on iat and exp
SHOW_SAFETY_RESOURCES = "show_safety_resources"
DETERRENCE = "deterrence"


class BundleError(ValueError):
    """Why no decision was made; ``code`` is the server's problem code for the same request."""

    code = "invalid_bundle"


class InvalidBundle(BundleError):
    def __init__(self, reason: str, *, unknown_kid: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unknown_kid = unknown_kid


class BundleExpired(BundleError):
    code = "bundle_expired"


class UnknownJurisdiction(BundleError):
    code = "unknown_jurisdiction"


class UnknownAction(BundleError):
    code = "unknown_action"


class UnknownParty(BundleError):
    code = "unknown_band_or_level"


@dataclass(frozen=True, slots=True)
class LocalDeterrence:
    """What a denial with the ``deterrence`` obligation shows the actor: the message, and
    prevention services for the country."""

    message: str
    resources: tuple[Mapping[str, str], ...]


@dataclass(frozen=True, slots=True)
class LocalDecision:
    allowed: bool
    rule: str
    reason: str
    message: str
    obligations: tuple[str, ...]
    safety_resources: tuple[Mapping[str, str], ...]
    policy_version: str
    deterrence: LocalDeterrence | None = None

    @property
    def effect(self) -> str:
        return "allow" if self.allowed else "deny"


@dataclass(frozen=True, slots=True)
class _Outcome:
    allowed: bool
    rule: str
    reason: str
    message: Mapping[str, str]
    obligations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Jurisdiction:
    actor_class: Sequence[int]
    target_class: Sequence[int]
    tables: Mapping[str, Sequence[Sequence[int]]]
    safety_resources: Mapping[str, tuple[Mapping[str, str], ...]]
    # The jurisdiction's deterrence: its message per locale and its services per country.
    deterrence_message: Mapping[str, str] | None = None
    deterrence_resources: Mapping[str, tuple[Mapping[str, str], ...]] | None = None


def party_key(party: Party, top_band: str | None) -> str:
    """The bundle's string for a party, normalised as the server does."""
    band, level, upper = party
    if band is None:
        return ""  # levels mean nothing without a band
    if band == top_band:
        upper = None  # the oldest band has no upper edge
    return f"{band}:{level or ''}:{upper or ''}"


class PolicyBundle:
    """A verified bundle. ``decide`` answers as ``POST /v1/decisions``; parties are
    ``(band, level, upper_level)`` tuples (any part None) or verified ``AgeToken``s."""

    def __init__(self, payload: Mapping[str, Any], *, clock: Callable[[], float] = time.time) -> None:
        try:
            self._load(payload)
        except (KeyError, TypeError, ValueError, IndexError):
            raise InvalidBundle("malformed bundle payload") from None
        self._clock = clock

    def _load(self, p: Mapping[str, Any]) -> None:
        if p.get("v") != BUNDLE_VERSION:
            raise InvalidBundle("unsupported bundle version")
        for name in ("iat", "refresh_after", "exp"):
            if type(p.get(name)) is not int:
                raise InvalidBundle(f"bundle without an integer {name}")
        self.issuer: str = str(p["iss"])
        self.issued_at: int = p["iat"]
        self.refresh_after: int = p["refresh_after"]
        self.expires_at: int = p["exp"]
        self.version: str = str(p["pol"])
        self.default_locale: str = str(p["default_locale"])
        self.top_band: str | None = p["top_band"]
        self.keys: tuple[str, ...] = tuple(str(k) for k in p["keys"])
        self._index = {k: i for i, k in enumerate(self.keys)}
        self._outcomes = tuple(
            _Outcome(bool(o["allowed"]), str(o["rule"]), str(o["reason"]), dict(o["message"]),
                     tuple(o["obligations"]))
            for o in p["outcomes"]
        )  # fmt: skip
        self._service = {str(r): self._outcomes[int(i)] for r, i in p["service"].items()}
        n = len(self.keys)
        self._jurisdictions: dict[str, _Jurisdiction] = {}
        for code, j in p["jurisdictions"].items():
            d = j.get("deterrence")  # absent from bundles made before deterrence
            jur = _Jurisdiction(
                tuple(j["actor_class"]), tuple(j["target_class"]),
                {a: tuple(tuple(row) for row in grid) for a, grid in j["tables"].items()},
                {c: tuple(dict(r) for r in lst) for c, lst in j["safety_resources"].items()},
                dict(d["message"]) if d else None,
                {c: tuple(dict(r) for r in lst) for c, lst in d["resources"].items()} if d else None,
            )  # fmt: skip
            if len(jur.actor_class) != n or len(jur.target_class) != n:
                raise InvalidBundle("class lists do not match the keys")
            for grid in jur.tables.values():  # every index in range: a lookup can never fail later
                for row in grid:
                    if any(not 0 <= o < len(self._outcomes) for o in row):
                        raise InvalidBundle("outcome index out of range")
                if max(jur.actor_class, default=-1) >= len(grid) or any(
                    max(jur.target_class, default=-1) >= len(row) for row in grid
                ):
                    raise InvalidBundle("class out of range")
            self._jurisdictions[str(code)] = jur

    @classmethod
    def verify(
        cls,
        token: str,
        keys: KeySet,
        *,
        issuer: str,
        now: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> PolicyBundle:
        """Canonical encoding, header, signature (by the JWKS key its kid names, its algorithm),
        ``v``, ``iss`` and the ``iat``/``exp`` window; InvalidBundle or BundleExpired otherwise."""
        try:
            payload = verified_payload(token, keys, BUNDLE_TYPE)
        except JoseFailure as err:
            raise InvalidBundle(err.reason, unknown_kid=err.unknown_kid) from None
        bundle = cls(payload, clock=clock)
        if bundle.issuer != issuer:
            raise InvalidBundle("bundle from another issuer")
        at = clock() if now is None else now
        if bundle.issued_at > at + LEEWAY:
            raise InvalidBundle("bundle issued in the future")
        bundle._check_fresh(at)
        return bundle

    def _check_fresh(self, now: float) -> None:
        if self.expires_at <= now - LEEWAY:
            raise BundleExpired("bundle expired: refetch it")

    def needs_refresh(self, now: float | None = None) -> bool:
        return (self._clock() if now is None else now) >= self.refresh_after

    @property
    def jurisdictions(self) -> tuple[str, ...]:
        return tuple(self._jurisdictions)

    def decide(
        self,
        jurisdiction: str,
        action: str,
        actor: Party | AgeToken,
        target: Party | AgeToken,
        *,
        locale: str | None = None,
        country: str | None = None,
        now: float | None = None,
    ) -> LocalDecision:
        """The server's decision, or a BundleError (expired bundle, unknown jurisdiction, action,
        band or level)."""
        self._check_fresh(self._clock() if now is None else now)
        jur = self._jurisdictions.get(jurisdiction)
        if jur is None:
            raise UnknownJurisdiction("unknown jurisdiction")
        grid = jur.tables.get(action)
        if grid is None:
            raise UnknownAction("unknown action")
        i = self._party_index(actor)
        j = self._party_index(target)
        if i is not None and j is not None:
            o = self._outcomes[grid[jur.actor_class[i]][jur.target_class[j]]]
        elif (i is None and isinstance(actor, tuple)) or (j is None and isinstance(target, tuple)):
            raise UnknownParty("a party's band or level is not in the policy")
        else:  # a token of a band an older policy had: unknown_band, as the server answers
            o = self._service["unknown_band"]
        return self._render(o, jur, jurisdiction, locale, country)

    def service_decision(self, reason: str, jurisdiction: str, locale: str | None = None) -> LocalDecision:
        """The service's own denial (``invalid_token``, ``unknown_band``, ``no_matching_rule``)."""
        jur = self._jurisdictions.get(jurisdiction)
        if jur is None:
            raise UnknownJurisdiction("unknown jurisdiction")
        return self._render(self._service[reason], jur, jurisdiction, locale, None)

    def is_allowed(
        self, jurisdiction: str, action: str, actor: Party | AgeToken, target: Party | AgeToken,
        *, now: float | None = None,
    ) -> bool:  # fmt: skip
        """Fail closed: False whenever no decision can be made."""
        try:
            return self.decide(jurisdiction, action, actor, target, now=now).allowed
        except BundleError:
            return False

    def _party_index(self, party: Party | AgeToken) -> int | None:
        key = party_key(party.party if isinstance(party, AgeToken) else party, self.top_band)
        return self._index.get(key)

    def _render(
        self, o: _Outcome, jur: _Jurisdiction, code: str, locale: str | None, country: str | None
    ) -> LocalDecision:
        resources: tuple[Mapping[str, str], ...] = ()
        if SHOW_SAFETY_RESOURCES in o.obligations:
            resources = _for_country(jur.safety_resources, country, code)
        deterrence = None
        if not o.allowed and DETERRENCE in o.obligations and jur.deterrence_message is not None:
            deterrence = LocalDeterrence(
                self.text(jur.deterrence_message, locale),
                _for_country(jur.deterrence_resources or {}, country, code),
            )
        return LocalDecision(
            o.allowed, o.rule, o.reason, self.text(o.message, locale), o.obligations, resources, self.version,
            deterrence,
        )  # fmt: skip

    def text(self, texts: Mapping[str, str], locale: str | None) -> str:
        """The locale's text, else its language's, else the default locale's, else the first."""
        for candidate in (locale, locale.split("-")[0] if locale else None, self.default_locale):
            if candidate and candidate in texts:
                return texts[candidate]
        return next(iter(texts.values()), "")


def _for_country(
    lists: Mapping[str, tuple[Mapping[str, str], ...]], country: str | None, jurisdiction: str
) -> tuple[Mapping[str, str], ...]:
    """The country's list, else the jurisdiction's own, else the default one (as the server)."""
    for k in (country, jurisdiction, "default"):
        if k is not None and k in lists:
            return lists[k]
    return ()
