"""Band resolution: inside one band resolves, a straddle is inconclusive, empty contradicts."""

from __future__ import annotations

from core_strategies import ages_in, band_sets, core_profile, empty_intervals, intervals
from hypothesis import given
from hypothesis import strategies as st

from service.core.bands import Band, BandSet
from service.core.intervals import AgeInterval, from_estimate, from_over
from service.core.resolution import Contradiction, Inconclusive, Resolved, resolve

DEFAULT = BandSet(
    [Band("under_13", 0, 12), Band("13_15", 13, 15), Band("16_17", 16, 17), Band("18_plus", 18, None)]
)


@core_profile
@given(band_sets, intervals())
def test_a_resolved_band_contains_every_age_in_the_interval(bands: BandSet, interval: AgeInterval) -> None:
    result = resolve(interval, bands)
    if isinstance(result, Resolved):
        assert interval.within(result.band.interval)
        for age in ages_in(interval):
            assert result.band.contains(age)


@core_profile
@given(band_sets, st.data())
def test_an_interval_inside_one_band_resolves_to_it(bands: BandSet, data: st.DataObject) -> None:
    band = data.draw(st.sampled_from(list(bands)), label="band")
    lo = data.draw(st.integers(min_value=band.lo, max_value=band.lo + 40 if band.hi is None else band.hi))
    hi = data.draw(st.none() if band.hi is None else st.integers(min_value=lo, max_value=band.hi))
    assert resolve(AgeInterval(lo, hi), bands) == Resolved(band)


@core_profile
@given(band_sets, intervals())
def test_an_interval_is_inconclusive_exactly_when_it_straddles_a_boundary(
    bands: BandSet, interval: AgeInterval
) -> None:
    straddles = any(
        b.hi is not None and interval.contains(b.hi) and interval.contains(b.hi + 1) for b in bands
    )
    assert isinstance(resolve(interval, bands), Inconclusive) == straddles


@core_profile
@given(band_sets, intervals())
def test_inconclusive_youngest_is_the_youngest_touched_band(bands: BandSet, interval: AgeInterval) -> None:
    result = resolve(interval, bands)
    if isinstance(result, Inconclusive):
        assert len(result.touched) >= 2
        assert result.youngest == min(result.touched, key=lambda b: bands.rank(b.name))
        assert result.youngest == bands.for_age(interval.lo)  # when in doubt, younger


@core_profile
@given(band_sets, empty_intervals())
def test_an_empty_interval_is_a_contradiction(bands: BandSet, interval: AgeInterval) -> None:
    assert resolve(interval, bands) == Contradiction()


def test_default_policy_examples() -> None:
    assert resolve(from_over(18, True), DEFAULT) == Resolved(DEFAULT.get("18_plus"))
    assert resolve(from_over(13, False), DEFAULT) == Resolved(DEFAULT.get("under_13"))
    straddle = resolve(from_estimate(17.2, 0.0, buffer=1.5), DEFAULT)  # [15, 18]
    assert isinstance(straddle, Inconclusive)
    assert [b.name for b in straddle.touched] == ["13_15", "16_17", "18_plus"]
    assert straddle.youngest.name == "13_15"
    assert resolve(from_over(21, True).intersect(from_over(18, False)), DEFAULT) == Contradiction()


def test_a_self_declared_birth_year_is_two_ages() -> None:
    """Born in 2008, asked in 2026: 17 or 18, so inconclusive between 16_17 and 18_plus."""
    result = resolve(AgeInterval(17, 18), DEFAULT)
    assert isinstance(result, Inconclusive)
    assert result.youngest.name == "16_17"
