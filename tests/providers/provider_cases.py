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

from providers.base import MethodParams, Provider, ProviderContext
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
        return self.factory(name or self.entry_point, self.config)

    def samples(self) -> tuple[Valid | Refused | Invalid, ...]:
        return (*self.valid, *self.refused, *self.invalid)


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
