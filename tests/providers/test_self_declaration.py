"""``self_declaration``: a birth year gives a two-year interval; a band comes from the policy's BandSet."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from provider_cases import DEFAULT_BANDS, PINNED, make_context

from providers.base import Failure, ProviderContext, Signal
from providers.self_declaration import SelfDeclarationProvider
from service.core.bands import Band, BandSet
from service.core.clock import FixedClock
from service.core.errors import InvalidEvidence
from service.core.intervals import AgeInterval, age_on

pytestmark = pytest.mark.anyio

PROVIDER = SelfDeclarationProvider("self_declaration", {})
THIS_YEAR = PINNED.year  # 2026


async def _signal(evidence: dict[str, Any], ctx: ProviderContext) -> Signal:
    outcome = await PROVIDER.submit(evidence, ctx)
    assert isinstance(outcome, Signal), outcome
    return outcome


async def _invalid_fields(evidence: dict[str, Any], ctx: ProviderContext) -> set[str]:
    with pytest.raises(InvalidEvidence) as caught:
        await PROVIDER.submit(evidence, ctx)
    return {e["field"] for e in caught.value.extra["errors"]}


# --- birth year -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_year", "interval"),
    [
        (1990, AgeInterval(35, 36)),
        (2008, AgeInterval(17, 18)),  # straddles 16_17 / 18_plus: the policy decides
        (2013, AgeInterval(12, 13)),
        (2025, AgeInterval(0, 1)),
        (THIS_YEAR, AgeInterval(0, 0)),  # clamped at 0, not [-1, 0]
        (THIS_YEAR - 150, AgeInterval(149, 150)),  # the oldest plausible
    ],
)
async def test_birth_year_gives_the_two_ages_the_user_can_be(
    birth_year: int, interval: AgeInterval, ctx: ProviderContext
) -> None:
    signal = await _signal({"birth_year": birth_year}, ctx)
    assert signal.interval == interval
    assert signal.method_class == "self_declaration"
    assert signal.qualifier == "birth_year"
    assert signal.attributes == ("age_interval",)
    assert signal.age_up_at is None


async def test_the_interval_moves_on_new_year(clock: FixedClock) -> None:
    clock.set(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert (await _signal({"birth_year": 2010}, make_context(clock))).interval == AgeInterval(15, 16)
    clock.advance(timedelta(seconds=1))
    assert (await _signal({"birth_year": 2010}, make_context(clock))).interval == AgeInterval(16, 17)


@pytest.mark.parametrize("birth_year", [THIS_YEAR + 1, THIS_YEAR + 50, 9999])
async def test_a_future_year_is_an_implausible_age(birth_year: int, ctx: ProviderContext) -> None:
    assert await PROVIDER.submit({"birth_year": birth_year}, ctx) == Failure("implausible_age")


@pytest.mark.parametrize("birth_year", [THIS_YEAR - 151, 1850])
async def test_more_than_150_years_ago_is_an_implausible_age(birth_year: int, ctx: ProviderContext) -> None:
    assert await PROVIDER.submit({"birth_year": birth_year}, ctx) == Failure("implausible_age")


@pytest.mark.parametrize(
    "evidence",
    [
        {"birth_year": 1849},  # below the schema's range
        {"birth_year": 10_000},
        {"birth_year": "1990"},  # strict: JSON numbers only
        {"birth_year": 1990.0},
        {"birth_year": True},
        {"birth_year": None},
        {},
        {"birth_date": "1990-04-23"},
        {"birth_year": 1990, "birth_month": 4},
        {"method": "os_signal", "birth_year": 1990},
    ],
)
async def test_malformed_birth_years_are_invalid_evidence(
    evidence: dict[str, Any], ctx: ProviderContext
) -> None:
    with pytest.raises(InvalidEvidence):
        await PROVIDER.submit(evidence, ctx)


async def test_errors_name_the_fields(ctx: ProviderContext) -> None:
    assert await _invalid_fields({}, ctx) == {"birth_year"}
    assert await _invalid_fields({"birth_year": "1990"}, ctx) == {"birth_year"}
    assert await _invalid_fields({"birth_year": 1990, "birth_month": 4}, ctx) == {"birth_month"}


async def test_the_method_field_may_name_the_method(ctx: ProviderContext) -> None:
    signal = await _signal({"method": "self_declaration", "birth_year": 1990}, ctx)
    assert signal.interval == AgeInterval(35, 36)


@given(
    birthday=st.dates(min_value=date(1880, 1, 1), max_value=date(2030, 12, 31)),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
)
async def test_the_true_age_is_always_inside_the_interval(birthday: date, today: date) -> None:
    now = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
    ctx = make_context(FixedClock(now))
    outcome = await PROVIDER.submit({"birth_year": birthday.year}, ctx)
    if birthday.year > today.year or today.year - birthday.year > 150:
        assert outcome == Failure("implausible_age")
        return
    assert isinstance(outcome, Signal)
    if birthday <= today:
        assert outcome.interval.contains(age_on(birthday, today))
    assert outcome.interval.hi is not None
    assert outcome.interval.hi - outcome.interval.lo <= 1


# --- band -----------------------------------------------------------------------------------


@pytest.mark.parametrize("band", DEFAULT_BANDS.names)
async def test_a_band_gives_that_band_s_interval(band: str, ctx: ProviderContext) -> None:
    signal = await _signal({"band": band}, ctx)
    assert signal.interval == DEFAULT_BANDS.get(band).interval
    assert signal.qualifier == "band"
    assert signal.attributes == ("band",)


async def test_band_names_come_from_the_policy_bands(clock: FixedClock) -> None:
    bands = BandSet([Band("child", 0, 12), Band("teen", 13, 17), Band("adult", 18, None)])
    ctx = make_context(clock, bands)
    assert (await _signal({"band": "teen"}, ctx)).interval == AgeInterval(13, 17)
    assert (await _signal({"band": "adult"}, ctx)).interval == AgeInterval(18, None)
    # A default band name means nothing under this policy.
    assert await PROVIDER.submit({"band": "18_plus"}, ctx) == Failure("unknown_band")


@pytest.mark.parametrize("band", ["adult", "18+", "18_PLUS", " 18_plus", "x" * 64])
async def test_an_unknown_band_is_a_failure(band: str, ctx: ProviderContext) -> None:
    assert await PROVIDER.submit({"band": band}, ctx) == Failure("unknown_band")


@pytest.mark.parametrize(
    "evidence",
    [
        {"band": ""},
        {"band": "x" * 65},
        {"band": 18},
        {"band": None},
        {"band": ["18_plus"]},
        {"band": "18_plus", "birth_year": 1990},  # one or the other
        {"band": "18_plus", "note": "adult"},
    ],
)
async def test_malformed_bands_are_invalid_evidence(evidence: dict[str, Any], ctx: ProviderContext) -> None:
    with pytest.raises(InvalidEvidence):
        await PROVIDER.submit(evidence, ctx)


async def test_band_and_birth_year_together_name_the_extra_field(ctx: ProviderContext) -> None:
    assert await _invalid_fields({"band": "18_plus", "birth_year": 1990}, ctx) == {"birth_year"}


# --- construction ---------------------------------------------------------------------------


def test_takes_no_configuration() -> None:
    assert SelfDeclarationProvider("sd", {}).name == "sd"
    with pytest.raises(ValueError, match="takes no configuration"):
        SelfDeclarationProvider("sd", {"strict": True})
