"""Conformance cases: one ``ConformanceCase`` per provider, run by ``test_conformance.py``.

Adding a provider
-----------------
1. Register it in the ``ageband.providers`` entry-point group (``pyproject.toml`` for a
   built-in, its own package metadata for a third-party one) and reinstall, so that
   ``importlib.metadata`` sees it. The conformance suite fails for any provider in that group
   without a case here.
2. Append a ``ConformanceCase`` to ``CASES`` below with:

   - ``entry_point``: the name it is registered under, and ``factory``: the object that entry
     point names (usually the provider class); ``config``: a configuration it accepts;
   - ``valid``: evidence samples that must each give a ``Signal`` (``Valid``), optionally pinning
     the expected interval and qualifier;
   - ``refused``: well-formed evidence that must give a ``Failure`` with a given reason
     (``Refused``), and ``failure_reasons``: every reason code the provider can return;
   - ``invalid``: evidence that must raise ``InvalidEvidence`` (``Invalid``), with the submitted
     values that must not appear in the error (``canaries``: use ``CANARY_TEXT``,
     ``CANARY_NUMBER`` or other distinctive values, at least three characters long);
   - ``context`` if the provider needs something other than ``make_context()``.

3. Run ``pytest tests/providers/test_conformance.py``. Besides the samples, the suite mutates
   every valid sample (an unknown field, each field replaced by canaries and by values of every
   JSON type), checks the Protocol, the entry point, the imports and that evidence is let go.

A provider that is unavailable here (``unavailable()`` is not None, e.g. a missing extra) has
its evidence tests skipped with the reason; every structural check still runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from providers.base import Closeable, MethodParams, Provider, ProviderContext
from providers.os_signal import OsSignalProvider
from providers.self_declaration import SelfDeclarationProvider
from service.core.bands import Band, BandSet
from service.core.clock import FixedClock
from service.core.intervals import AgeInterval

PINNED = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

# The bundled policy's bands, which follow the OS age-signal brackets.
DEFAULT_BANDS = BandSet(
    [
        Band("under_13", 0, 12),
        Band("13_15", 13, 15),
        Band("16_17", 16, 17),
        Band("18_plus", 18, None),
    ]
)

# Values a client might send that must never come back in an error or an outcome.
CANARY_TEXT = "cAnArY-9f3c2e71-pii"
CANARY_EMAIL = "canary.3b8d@example.invalid"
CANARY_NUMBER = 86_420_135

Factory = Callable[[str, Mapping[str, Any]], Provider]


def make_context(
    clock: FixedClock | None = None, bands: BandSet = DEFAULT_BANDS, method: str = "method"
) -> ProviderContext:
    """A ProviderContext at the pinned time (or the clock's), with the given bands."""
    now = (clock or FixedClock(PINNED)).now()
    return ProviderContext(now=now, bands=bands, method=MethodParams(name=method))


@dataclass(frozen=True)
class Valid:
    """Evidence that must give a Signal; ``interval``/``qualifier`` pin it when given."""

    id: str
    evidence: Mapping[str, Any]
    interval: AgeInterval | None = None
    qualifier: str | None = None


@dataclass(frozen=True)
class Refused:
    """Well-formed evidence that must give a Failure with ``reason``."""

    id: str
    evidence: Mapping[str, Any]
    reason: str


@dataclass(frozen=True)
class Invalid:
    """Evidence that must raise InvalidEvidence without echoing any of ``canaries``."""

    id: str
    evidence: Mapping[str, Any]
    canaries: tuple[str | int | float, ...] = ()


@dataclass(frozen=True)
class ConformanceCase:
    entry_point: str
    factory: Factory
    valid: tuple[Valid, ...]
    invalid: tuple[Invalid, ...]
    refused: tuple[Refused, ...] = ()
    failure_reasons: frozenset[str] = frozenset()
    config: Mapping[str, Any] = field(default_factory=dict)
    context: Callable[[], ProviderContext] = make_context

    def build(self, name: str | None = None) -> Provider:
        provider = self.factory(name or self.entry_point, self.config)
        BUILT.append(provider)
        return provider

    def samples(self) -> tuple[Valid | Refused | Invalid, ...]:
        return (*self.valid, *self.refused, *self.invalid)


# Every provider a test built; the conftest closes those holding resources after each test.
BUILT: list[Provider] = []


async def close_built() -> None:
    """Close (``providers.base.Closeable``) and forget the providers built so far."""
    while BUILT:
        provider = BUILT.pop()
        if isinstance(provider, Closeable):
            await provider.aclose()


def leaf_values(value: object) -> Iterator[object]:
    """Every scalar inside nested mappings and lists (the values a client submitted)."""
    if isinstance(value, Mapping):
        for v in value.values():
            yield from leaf_values(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from leaf_values(v)
    else:
        yield value


SELF_DECLARATION = ConformanceCase(
    entry_point="self_declaration",
    factory=SelfDeclarationProvider,
    valid=(
        Valid("birth_year", {"birth_year": 1990}, AgeInterval(35, 36), "birth_year"),
        Valid("birth_year_this_year", {"birth_year": 2026}, AgeInterval(0, 0), "birth_year"),
        Valid("with_method", {"method": "self_declaration", "birth_year": 2012}, AgeInterval(13, 14)),
        Valid("band_minor", {"band": "13_15"}, AgeInterval(13, 15), "band"),
        Valid("band_adult", {"band": "18_plus"}, AgeInterval(18, None), "band"),
    ),
    refused=(
        Refused("future_year", {"birth_year": 2027}, "implausible_age"),
        Refused("too_old", {"birth_year": 1860}, "implausible_age"),
        Refused("unknown_band", {"band": "adult"}, "unknown_band"),
    ),
    failure_reasons=frozenset({"implausible_age", "unknown_band"}),
    invalid=(
        Invalid("empty", {}),
        Invalid("year_as_text", {"birth_year": CANARY_TEXT}, (CANARY_TEXT,)),
        Invalid("year_as_digits", {"birth_year": "1987"}, ("1987",)),
        Invalid("year_as_float", {"birth_year": 1987.5}, (1987.5,)),
        Invalid("year_huge", {"birth_year": CANARY_NUMBER}, (CANARY_NUMBER,)),
        Invalid("year_before_schema", {"birth_year": 1789}, (1789,)),
        Invalid("year_bool", {"birth_year": True}),
        Invalid("band_not_text", {"band": CANARY_NUMBER}, (CANARY_NUMBER,)),
        Invalid("band_empty", {"band": ""}),
        Invalid("band_too_long", {"band": CANARY_TEXT * 5}, (CANARY_TEXT,)),
        Invalid("band_and_year", {"band": "13_15", "birth_year": 1987}, ("13_15", 1987)),
        Invalid("unknown_field", {"birth_year": 1987, "email": CANARY_EMAIL}, (CANARY_EMAIL, 1987)),
        Invalid("wrong_method", {"method": CANARY_TEXT, "birth_year": 1987}, (CANARY_TEXT, 1987)),
    ),
)

OS_SIGNAL = ConformanceCase(
    entry_point="os_signal",
    factory=OsSignalProvider,
    valid=(
        Valid(
            "play_verified",
            {"source": "google_play", "user_status": "VERIFIED", "age_lower": 18, "age_upper": None},
            AgeInterval(18, None),
            "google_play.verified",
        ),
        Valid(
            "play_supervised",
            {"source": "google_play", "user_status": "SUPERVISED", "age_lower": 0, "age_upper": 12},
            AgeInterval(0, 12),
            "google_play.supervised",
        ),
        Valid(
            "apple_guardian",
            {"source": "apple", "declaration": "guardian_declared", "lower_bound": 13, "upper_bound": 15},
            AgeInterval(13, 15),
            "apple.guardian_declared",
        ),
        Valid(
            "apple_only_lower",
            {"source": "apple", "declaration": "self_declared", "lower_bound": 18},
            AgeInterval(18, None),
            "apple.self_declared",
        ),
        Valid("ab1043", {"source": "ab1043", "bracket": "16_17"}, AgeInterval(16, 17), "ab1043.declared"),
    ),
    refused=(
        Refused("play_unknown", {"source": "google_play", "user_status": "UNKNOWN"}, "signal_unavailable"),
        Refused("apple_no_bounds", {"source": "apple", "declaration": "self_declared"}, "signal_unavailable"),
    ),
    failure_reasons=frozenset({"signal_unavailable"}),
    invalid=(
        Invalid("empty", {}),
        Invalid("unknown_source", {"source": CANARY_TEXT, "bracket": "13_15"}, (CANARY_TEXT,)),
        Invalid("source_not_text", {"source": CANARY_NUMBER}, (CANARY_NUMBER,)),
        Invalid("source_list", {"source": [CANARY_TEXT]}, (CANARY_TEXT,)),
        Invalid("play_status", {"source": "google_play", "user_status": CANARY_TEXT}, (CANARY_TEXT,)),
        Invalid(
            "play_age_huge",
            {"source": "google_play", "user_status": "VERIFIED", "age_lower": CANARY_NUMBER},
            (CANARY_NUMBER,),
        ),
        Invalid(
            "play_upper_below_lower",
            {"source": "google_play", "user_status": "SUPERVISED", "age_lower": 147, "age_upper": 139},
            (147, 139),
        ),
        Invalid(
            "apple_declaration",
            {"source": "apple", "declaration": CANARY_TEXT, "lower_bound": 13},
            (CANARY_TEXT,),
        ),
        Invalid(
            "apple_bound_as_text",
            {"source": "apple", "declaration": "self_declared", "lower_bound": "147"},
            ("147",),
        ),
        Invalid(
            "apple_camel_case",
            {"source": "apple", "declaration": "self_declared", "lowerBound": 147},
            (147,),
        ),
        Invalid("ab1043_bracket", {"source": "ab1043", "bracket": CANARY_TEXT}, (CANARY_TEXT,)),
        Invalid(
            "ab1043_extra",
            {"source": "ab1043", "bracket": "13_15", "birth_date": "2011-04-23"},
            ("2011-04-23",),
        ),
    ),
)

CASES: tuple[ConformanceCase, ...] = (SELF_DECLARATION, OS_SIGNAL)


# --- age_credential: presentations made by the reference libraries at import time ------------

from credential_factory import Pki, mdoc_presentation, sd_jwt_presentation  # noqa: E402

from providers.age_credential import AgeCredentialProvider  # noqa: E402

_PKI = Pki.make("Conformance")
_ROGUE = Pki.make("Rogue")
_NONCE = "conformance-check-nonce"
# The reference issuers stamp the real time when the presentations below are made (at import);
# the context is pinned to that moment, so a test run minutes after collection (a long parallel
# suite) does not find the key-binding JWT too old.
_MADE_AT = datetime.now(UTC)


def _credential_context() -> ProviderContext:
    return ProviderContext(
        now=_MADE_AT, bands=DEFAULT_BANDS, method=MethodParams(name="age_credential"), nonce=_NONCE
    )


AGE_CREDENTIAL = ConformanceCase(
    entry_point="age_credential",
    factory=AgeCredentialProvider,
    config=_PKI.config(),
    context=_credential_context,
    valid=(
        Valid(
            "mdoc_over_18",
            {"format": "mso_mdoc", "presentation": mdoc_presentation(_PKI, {"age_over_18": True}, _NONCE)},
            AgeInterval(18, None),
            "mdoc",
        ),
        Valid(
            "sd_jwt_over_21_implies_18",
            {"format": "dc+sd-jwt", "presentation": sd_jwt_presentation(_PKI, {"age_over_21": True}, _NONCE)},
            AgeInterval(21, None),
            "sd_jwt",
        ),
        Valid(
            "sd_jwt_not_over_16",
            {
                "method": "age_credential",
                "format": "dc+sd-jwt",
                "presentation": sd_jwt_presentation(_PKI, {"age_over_16": False}, _NONCE),
            },
            AgeInterval(0, 15),
            "sd_jwt",
        ),
    ),
    refused=(
        Refused(
            "untrusted_issuer",
            {"format": "mso_mdoc", "presentation": mdoc_presentation(_ROGUE, {"age_over_18": True}, _NONCE)},
            "untrusted_issuer",
        ),
        Refused(
            "other_check",
            {
                "format": "dc+sd-jwt",
                "presentation": sd_jwt_presentation(_PKI, {"age_over_18": True}, "another-check"),
            },
            "binding_mismatch",
        ),
        Refused("not_base64", {"format": "mso_mdoc", "presentation": "A" * 17}, "malformed_presentation"),
    ),
    failure_reasons=AgeCredentialProvider.failure_reasons,
    invalid=(
        Invalid("empty", {}),
        Invalid("unknown_format", {"format": CANARY_TEXT, "presentation": "A" * 20}, (CANARY_TEXT,)),
        Invalid(
            "presentation_not_text", {"format": "mso_mdoc", "presentation": CANARY_NUMBER}, (CANARY_NUMBER,)
        ),
        # Over the instance's cap (max_presentation_bytes, 128 KiB by default), and over the
        # ceiling every instance shares (1 MiB).
        Invalid("presentation_huge", {"format": "dc+sd-jwt", "presentation": "A" * 200_000}),
        Invalid("presentation_over_ceiling", {"format": "mso_mdoc", "presentation": "A" * 1_100_000}),
        Invalid(
            "unknown_field",
            {"format": "mso_mdoc", "presentation": "A" * 20, "birth_date": CANARY_EMAIL},
            (CANARY_EMAIL,),
        ),
    ),
)

CASES = (*CASES, AGE_CREDENTIAL)


# --- facial estimation: a vendor API on loopback, and the on-premises model -----------------

import base64  # noqa: E402

from estimation_photos import astronaut_b64, no_face_b64, two_faces_b64  # noqa: E402
from estimation_vendor import face_b64, many_faces, no_face, shared_vendor  # noqa: E402

from providers.http_estimation import HttpEstimationProvider  # noqa: E402
from providers.local_estimation import LocalEstimationProvider  # noqa: E402


class _VendorConfig(Mapping[str, Any]):
    """The fake vendor's URL, known only once it is started (on first read, not at import)."""

    def _data(self) -> dict[str, Any]:
        return shared_vendor().config("ok")

    def __getitem__(self, key: str) -> Any:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


def _estimation_context() -> ProviderContext:
    method = MethodParams(name="facial_estimation", buffer=0.0, sigma_k=1.0, max_sigma=6.0, liveness=True)
    return ProviderContext(now=PINNED, bands=DEFAULT_BANDS, method=method)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


HTTP_ESTIMATION = ConformanceCase(
    entry_point="http_estimation",
    factory=HttpEstimationProvider,
    config=_VendorConfig(),
    context=_estimation_context,
    valid=(
        Valid("adult", {"image": face_b64(30, 2)}, AgeInterval(28, 32), "liveness.real"),
        Valid("minor", {"image": face_b64(14, 1), "device": "mobile"}, AgeInterval(13, 15), "liveness.real"),
        Valid("jpeg", {"image": face_b64(40, 3, fmt="JPEG"), "device": "laptop"}, AgeInterval(37, 43)),
        Valid("webp", {"image": face_b64(25, 2, fmt="WEBP")}, AgeInterval(23, 27)),
        Valid("data_url", {"image": "data:image/png;base64," + face_b64(50, 4)}, AgeInterval(46, 54)),
    ),
    refused=(
        Refused("no_face", {"image": _b64(no_face())}, "no_face"),
        Refused("multiple_faces", {"image": _b64(many_faces())}, "multiple_faces"),
        Refused("uncertain", {"image": face_b64(30, 8)}, "low_quality"),
        Refused("spoof", {"image": face_b64(30, 2, "fake")}, "liveness_failed"),
        Refused("spoof_undetermined", {"image": face_b64(30, 2, "undetermined")}, "liveness_failed"),
    ),
    failure_reasons=frozenset(
        {
            "no_face",
            "multiple_faces",
            "low_quality",
            "liveness_failed",
            "image_rejected",
            "implausible_estimate",
        }
    ),
    invalid=(
        Invalid("empty", {}),
        Invalid("image_not_base64", {"image": CANARY_TEXT}, (CANARY_TEXT,)),
        Invalid("image_number", {"image": CANARY_NUMBER}, (CANARY_NUMBER,)),
        Invalid("device", {"image": face_b64(30, 2), "device": CANARY_TEXT}, (CANARY_TEXT,)),
        Invalid("unknown_field", {"image": face_b64(30, 2), "email": CANARY_EMAIL}, (CANARY_EMAIL,)),
    ),
)

LOCAL_ESTIMATION = ConformanceCase(
    entry_point="local_estimation",
    factory=LocalEstimationProvider,
    # The bundled model estimates the astronaut at 33 with a 29 % peak: sigma is the 3-year floor.
    valid=(Valid("astronaut", {"image": astronaut_b64()}, AgeInterval(30, 36), "liveness.unchecked"),),
    refused=(
        Refused("no_face", {"image": no_face_b64()}, "no_face"),
        Refused("two_faces", {"image": two_faces_b64()}, "multiple_faces"),
    ),
    failure_reasons=frozenset(
        {"no_face", "multiple_faces", "low_quality", "liveness_unavailable", "implausible_estimate"}
    ),
    invalid=(
        Invalid("empty", {}),
        Invalid("image_not_base64", {"image": CANARY_TEXT}, (CANARY_TEXT,)),
        Invalid("unknown_field", {"image": no_face_b64(), "email": CANARY_EMAIL}, (CANARY_EMAIL,)),
    ),
)

CASES = (*CASES, HTTP_ESTIMATION, LOCAL_ESTIMATION)


# --- eid_oidc: a redirect provider; its signals come from the callback (tests/oidc) ----------

from providers.eid_oidc import EidOidcProvider  # noqa: E402

EID_OIDC = ConformanceCase(
    entry_point="eid_oidc",
    factory=EidOidcProvider,
    config={
        "issuer": "https://idp.example",
        "client_id": "ageband",
        "client_secret": "conformance-secret",
        "redirect_uri": "https://ageband.example/v1/oidc/eid_oidc/callback",
    },
    valid=(),
    failure_reasons=EidOidcProvider.failure_reasons,
    invalid=(
        Invalid("empty", {}),
        Invalid("posted_id_token", {"id_token": CANARY_TEXT}, (CANARY_TEXT,)),
        Invalid(
            "posted_birthdate",
            {"birthdate": "1987-06-05", "email": CANARY_EMAIL},
            ("1987-06-05", CANARY_EMAIL),
        ),
    ),
)

CASES = (*CASES, EID_OIDC)
