"""``os_signal``: age ranges relayed from Google Play Age Signals, Apple's Declared Age Range and AB-1043.

Google Play gives ``userStatus`` with ``ageLower``/``ageUpper`` (default ranges 0-12, 13-15, 16-17
and 18+, the last with no upper bound); Apple gives ``lowerBound``/``upperBound``, either of which
may be absent, with how the range was declared; AB-1043 gives one of four brackets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from provider_cases import CANARY_TEXT, DEFAULT_BANDS

from providers.base import Failure, ProviderContext, Signal
from providers.os_signal import OsSignalProvider
from service.core.errors import InvalidEvidence
from service.core.intervals import AgeInterval

pytestmark = pytest.mark.anyio

PROVIDER = OsSignalProvider("os_signal", {})
PLAY_RANGES = [(0, 12, "under_13"), (13, 15, "13_15"), (16, 17, "16_17"), (18, None, "18_plus")]


def play(status: object, lower: object = None, upper: object = None, **more: Any) -> dict[str, Any]:
    return {"source": "google_play", "user_status": status, "age_lower": lower, "age_upper": upper, **more}


def apple(declaration: str = "self_declared", **bounds: Any) -> dict[str, Any]:
    return {"source": "apple", "declaration": declaration, **bounds}


async def _signal(evidence: Mapping[str, Any], ctx: ProviderContext) -> Signal:
    outcome = await PROVIDER.submit(evidence, ctx)
    assert isinstance(outcome, Signal), outcome
    assert outcome.method_class == "os_signal"
    assert outcome.attributes == ("age_range", "source_tier")
    assert outcome.age_up_at is None
    return outcome


async def _invalid(evidence: Mapping[str, Any], ctx: ProviderContext) -> InvalidEvidence:
    with pytest.raises(InvalidEvidence) as caught:
        await PROVIDER.submit(evidence, ctx)
    return caught.value


def _fields(exc: InvalidEvidence) -> set[str]:
    return {e["field"] for e in exc.extra["errors"]}


# --- Google Play Age Signals ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "qualifier"),
    [
        ("VERIFIED", "google_play.verified"),
        ("SUPERVISED", "google_play.supervised"),
        ("SUPERVISED_APPROVAL_PENDING", "google_play.supervised"),
        ("SUPERVISED_APPROVAL_DENIED", "google_play.supervised"),
        ("DECLARED", "google_play.declared"),
    ],
)
@pytest.mark.parametrize(("lower", "upper", "band"), PLAY_RANGES)
async def test_play_ranges_resolve_to_one_band_with_the_status_tier(
    status: str, qualifier: str, lower: int, upper: int | None, band: str, ctx: ProviderContext
) -> None:
    signal = await _signal(play(status, lower, upper), ctx)
    assert signal.interval == AgeInterval(lower, upper)
    assert signal.qualifier == qualifier
    # The default Play ranges are the bundled policy's bands: each resolves to exactly one.
    assert [b.name for b in DEFAULT_BANDS.touched(signal.interval)] == [band]


async def test_a_verified_adult_has_no_upper_age(ctx: ProviderContext) -> None:
    signal = await _signal(play("VERIFIED", 18, None), ctx)
    assert signal.interval == AgeInterval(18, None)
    assert signal.interval.hi is None


async def test_a_custom_play_range_is_kept_as_given(ctx: ProviderContext) -> None:
    # Play may return custom ranges (e.g. 10-14) where regional rules ask for them.
    signal = await _signal(play("SUPERVISED", 10, 14), ctx)
    assert signal.interval == AgeInterval(10, 14)
    assert [b.name for b in DEFAULT_BANDS.touched(signal.interval)] == ["under_13", "13_15"]


async def test_the_null_upper_bound_may_be_left_out(ctx: ProviderContext) -> None:
    evidence = {"source": "google_play", "user_status": "VERIFIED", "age_lower": 18}
    assert (await _signal(evidence, ctx)).interval == AgeInterval(18, None)


@pytest.mark.parametrize(
    "evidence",
    [
        play("UNKNOWN"),
        play("UNKNOWN", 18, None),  # not verified or supervised: whatever range comes with it
        {"source": "google_play", "user_status": "UNKNOWN"},
        play("VERIFIED"),  # a status without a range
        play("SUPERVISED"),
    ],
)
async def test_play_without_a_usable_signal_is_unavailable(
    evidence: dict[str, Any], ctx: ProviderContext
) -> None:
    assert await PROVIDER.submit(evidence, ctx) == Failure("signal_unavailable")


@pytest.mark.parametrize(
    "evidence",
    [
        play("verified", 18),  # the API's constant names, exactly
        play("ADULT", 18),
        play("", 18),
        play(None, 18),
        {"source": "google_play", "age_lower": 18},  # no status
        play("SUPERVISED", -1, 12),
        play("SUPERVISED", 13, 151),
        play("SUPERVISED", "13", 15),
        play("SUPERVISED", 13.0, 15),
        play("SUPERVISED", True, 15),
        play("SUPERVISED", 13, 15, ageLower=13),  # the Kotlin name is not the wire name
        play("SUPERVISED", 13, 15, install_id="f3a9"),
        play("SUPERVISED", 13, 15, lower_bound=13),  # Apple's field under Play's source
    ],
)
async def test_malformed_play_signals_are_invalid_evidence(
    evidence: dict[str, Any], ctx: ProviderContext
) -> None:
    await _invalid(evidence, ctx)


# --- Apple Declared Age Range ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "interval"),
    [
        ({"lower_bound": 18}, AgeInterval(18, None)),  # only lower: 18+
        ({"lower_bound": 18, "upper_bound": None}, AgeInterval(18, None)),
        ({"upper_bound": 12}, AgeInterval(0, 12)),  # only upper: under 13
        ({"lower_bound": None, "upper_bound": 12}, AgeInterval(0, 12)),
        ({"lower_bound": 13, "upper_bound": 15}, AgeInterval(13, 15)),  # both
        ({"lower_bound": 16, "upper_bound": 17}, AgeInterval(16, 17)),
        ({"lower_bound": 16, "upper_bound": 16}, AgeInterval(16, 16)),  # equal bounds are a range
        ({"lower_bound": 0, "upper_bound": 150}, AgeInterval(0, 150)),
    ],
)
@pytest.mark.parametrize("declaration", ["self_declared", "guardian_declared"])
async def test_apple_bounds_give_the_declared_range(
    bounds: dict[str, Any], interval: AgeInterval, declaration: str, ctx: ProviderContext
) -> None:
    signal = await _signal(apple(declaration, **bounds), ctx)
    assert signal.interval == interval
    assert signal.qualifier == f"apple.{declaration}"


@pytest.mark.parametrize("bounds", [{}, {"lower_bound": None, "upper_bound": None}])
async def test_apple_without_bounds_is_unavailable(bounds: dict[str, Any], ctx: ProviderContext) -> None:
    assert await PROVIDER.submit(apple(**bounds), ctx) == Failure("signal_unavailable")


async def test_an_upper_bound_below_the_lower_is_rejected(ctx: ProviderContext) -> None:
    exc = await _invalid(apple(lower_bound=16, upper_bound=15), ctx)
    assert "below the lower bound" in exc.extra["errors"][0]["problem"]
    await _invalid(play("SUPERVISED", 16, 15), ctx)


@pytest.mark.parametrize(
    "evidence",
    [
        apple("declared", lower_bound=18),
        apple("selfDeclared", lower_bound=18),  # Swift's case name is not the wire name
        {"source": "apple", "lower_bound": 18},  # no declaration
        apple(lowerBound=18),
        apple(lower_bound=18, upper_bound="21"),
        apple(lower_bound=-3),
        apple(upper_bound=200),
        apple(lower_bound=18, user_status="VERIFIED"),
    ],
)
async def test_malformed_apple_ranges_are_invalid_evidence(
    evidence: dict[str, Any], ctx: ProviderContext
) -> None:
    await _invalid(evidence, ctx)


# --- California AB-1043 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bracket", "interval"),
    [
        ("under_13", AgeInterval(0, 12)),
        ("13_15", AgeInterval(13, 15)),
        ("16_17", AgeInterval(16, 17)),
        ("18_plus", AgeInterval(18, None)),
    ],
)
async def test_ab1043_brackets(bracket: str, interval: AgeInterval, ctx: ProviderContext) -> None:
    signal = await _signal({"source": "ab1043", "bracket": bracket}, ctx)
    assert signal.interval == interval
    assert signal.qualifier == "ab1043.declared"
    assert [b.name for b in DEFAULT_BANDS.touched(signal.interval)] == [bracket]


@pytest.mark.parametrize(
    "evidence",
    [
        {"source": "ab1043"},
        {"source": "ab1043", "bracket": "18+"},
        {"source": "ab1043", "bracket": "adult"},
        {"source": "ab1043", "bracket": 18},
        {"source": "ab1043", "bracket": "13_15", "lower_bound": 13},
    ],
)
async def test_malformed_ab1043_brackets_are_invalid_evidence(
    evidence: dict[str, Any], ctx: ProviderContext
) -> None:
    await _invalid(evidence, ctx)


# --- shared ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [None, "", "android", "GOOGLE_PLAY", 7, ["apple"], {"x": 1}])
async def test_an_unknown_source_names_the_field(source: object, ctx: ProviderContext) -> None:
    exc = await _invalid({"source": source, "bracket": "13_15"}, ctx)
    assert _fields(exc) == {"source"}


async def test_a_missing_source_names_the_field(ctx: ProviderContext) -> None:
    exc = await _invalid({"bracket": "13_15"}, ctx)
    assert exc.extra["errors"] == [{"field": "source", "problem": "Field required"}]


async def test_an_unknown_source_is_not_echoed(ctx: ProviderContext) -> None:
    exc = await _invalid({"source": CANARY_TEXT}, ctx)
    assert CANARY_TEXT not in repr(exc.extra)
    assert CANARY_TEXT not in str(exc)


async def test_errors_name_the_fields_as_sent(ctx: ProviderContext) -> None:
    # Field paths are the evidence's own (no wrapper or source-tag prefix).
    assert _fields(await _invalid(play("SUPERVISED", 13, 151), ctx)) == {"age_upper"}
    assert _fields(await _invalid(apple(lower_bound="13"), ctx)) == {"lower_bound"}
    assert _fields(await _invalid(apple(lowerBound=13), ctx)) == {"lowerBound"}
    assert _fields(await _invalid({"source": "ab1043", "bracket": "x"}, ctx)) == {"bracket"}


async def test_the_method_field_may_name_the_method(ctx: ProviderContext) -> None:
    signal = await _signal({"method": "os_signal", "source": "ab1043", "bracket": "13_15"}, ctx)
    assert signal.interval == AgeInterval(13, 15)
    await _invalid({"method": "self_declaration", "source": "ab1043", "bracket": "13_15"}, ctx)


class _ReadOnly(Mapping[str, Any]):
    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@pytest.mark.parametrize(
    "evidence",
    [play("VERIFIED", 18), apple(lower_bound=13, upper_bound=15), {"source": "ab1043", "bracket": "16_17"}],
)
async def test_evidence_may_be_any_mapping(evidence: dict[str, Any], ctx: ProviderContext) -> None:
    assert await PROVIDER.submit(_ReadOnly(evidence), ctx) == await PROVIDER.submit(evidence, ctx)


def test_takes_no_configuration() -> None:
    assert OsSignalProvider("os_signal_eu", {}).name == "os_signal_eu"
    with pytest.raises(ValueError, match="takes no configuration"):
        OsSignalProvider("os_signal", {"sources": ["apple"]})
