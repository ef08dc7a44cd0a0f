"""Band sets: an ordered partition of every age from 0 upward, with no gap and no overlap."""

from __future__ import annotations

import pytest
from core_strategies import MAX_AGE, ages, band_bounds, band_sets, bands_from_bounds, core_profile, intervals
from hypothesis import given
from hypothesis import strategies as st

from service.core.bands import Band, BandError, BandSet
from service.core.intervals import AgeInterval

DEFAULT = BandSet(
    [Band("under_13", 0, 12), Band("13_15", 13, 15), Band("16_17", 16, 17), Band("18_plus", 18, None)]
)


@core_profile
@given(band_sets, ages)
def test_every_age_is_in_exactly_one_band(bands: BandSet, age: int) -> None:
    holding = [b for b in bands if b.contains(age)]
    assert len(holding) == 1
    assert bands.for_age(age) == holding[0]


@core_profile
@given(band_sets)
def test_bands_are_ranked_youngest_first(bands: BandSet) -> None:
    ranks = [bands.rank(n) for n in bands.names]
    assert ranks == list(range(len(bands)))
    los = [b.lo for b in bands]
    assert los == sorted(los)
    for band in bands:
        following = bands.next_after(band.name)
        assert following is None or (band.hi is not None and following.lo == band.hi + 1)


@core_profile
@given(band_bounds(), st.data())
def test_bandset_rejects_gaps(bounds: list[int], data: st.DataObject) -> None:
    bands = bands_from_bounds(bounds)
    if len(bands) < 2:
        bands = bands_from_bounds([18])
    i = data.draw(st.integers(min_value=1, max_value=len(bands) - 1), label="band")
    shift = data.draw(st.integers(min_value=1, max_value=5), label="gap")
    moved = Band(bands[i].name, bands[i].lo + shift, bands[i].hi)
    with pytest.raises(BandError, match=r"^gap: ") as caught:
        BandSet([*bands[:i], moved, *bands[i + 1 :]])
    assert (caught.value.index, caught.value.field) == (i, "lo")


@core_profile
@given(band_bounds(), st.data())
def test_bandset_rejects_overlaps(bounds: list[int], data: st.DataObject) -> None:
    bands = bands_from_bounds(bounds)
    if len(bands) < 2:
        bands = bands_from_bounds([18])
    i = data.draw(st.integers(min_value=1, max_value=len(bands) - 1), label="band")
    shift = data.draw(st.integers(min_value=1, max_value=bands[i].lo), label="overlap")
    moved = Band(bands[i].name, bands[i].lo - shift, bands[i].hi)
    with pytest.raises(BandError, match=r"^overlap: ") as caught:
        BandSet([*bands[:i], moved, *bands[i + 1 :]])
    assert (caught.value.index, caught.value.field) == (i, "lo")


@core_profile
@given(band_sets, intervals())
def test_touched_bands_are_exactly_those_sharing_an_age(bands: BandSet, interval: AgeInterval) -> None:
    touched = bands.touched(interval)
    top = MAX_AGE + 20 if interval.hi is None else interval.hi
    expected = {bands.for_age(a).name for a in range(interval.lo, top + 1)}
    assert {b.name for b in touched} == expected
    assert [bands.rank(b.name) for b in touched] == sorted(bands.rank(b.name) for b in touched)


def test_default_bands_resolve_ages() -> None:
    assert [DEFAULT.for_age(a).name for a in (0, 12, 13, 15, 16, 17, 18, 120)] == [
        "under_13",
        "under_13",
        "13_15",
        "13_15",
        "16_17",
        "16_17",
        "18_plus",
        "18_plus",
    ]
    assert DEFAULT.names == ("under_13", "13_15", "16_17", "18_plus")
    assert "13_15" in DEFAULT
    assert "13-15" not in DEFAULT
    assert DEFAULT.next_after("18_plus") is None
    assert DEFAULT.get("16_17").interval == AgeInterval(16, 17)


def test_a_single_unbounded_band_is_a_valid_set() -> None:
    only = BandSet([Band("everyone", 0, None)])
    assert only.for_age(99).name == "everyone"


def test_negative_age_is_in_no_band() -> None:
    with pytest.raises(ValueError, match="negative age"):
        DEFAULT.for_age(-1)


@pytest.mark.parametrize(
    ("bands", "message", "index", "field"),
    [
        ([], "at least one band", None, None),
        ([Band("a", 1, None)], "first band must start at 0, not 1", 0, "lo"),
        ([Band("a", 0, 12), Band("b", 13, 20)], "last band 'b' must be unbounded", 1, "hi"),
        ([Band("a", 0, None), Band("b", 13, None)], "only the last band may be unbounded", 0, "hi"),
        ([Band("a", 0, 5), Band("b", 6, 4), Band("c", 5, None)], "'b' ends before it starts", 1, "hi"),
        ([Band("a", 0, 12), Band("a", 13, None)], "'a' appears twice", 1, "name"),
        ([Band("a", 0, 12), Band("b", 14, None)], "gap: band 'b' starts at 14", 1, "lo"),
        ([Band("a", 0, 12), Band("b", 12, None)], "overlap: band 'b' starts at 12", 1, "lo"),
    ],
)
def test_invalid_band_lists_are_rejected_with_their_location(
    bands: list[Band], message: str, index: int | None, field: str | None
) -> None:
    with pytest.raises(BandError, match=message) as caught:
        BandSet(bands)
    assert (caught.value.index, caught.value.field) == (index, field)
