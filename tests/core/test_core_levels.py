"""Assurance levels: ordered as the policy lists them, weakest first."""

from __future__ import annotations

import pytest
from core_strategies import core_profile
from hypothesis import given
from hypothesis import strategies as st

from service.core.levels import Levels

level_lists = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=8, unique=True)


@core_profile
@given(level_lists, st.data())
def test_at_least_follows_the_list_order(names: list[str], data: st.DataObject) -> None:
    levels = Levels(names)
    have = data.draw(st.sampled_from(names), label="have")
    need = data.draw(st.sampled_from(names), label="need")
    assert levels.at_least(have, need) == (names.index(have) >= names.index(need))


@core_profile
@given(level_lists, st.data())
def test_highest_is_the_latest_in_the_list(names: list[str], data: st.DataObject) -> None:
    levels = Levels(names)
    some = data.draw(st.lists(st.sampled_from(names), min_size=1), label="some")
    assert levels.highest(some) == max(some, key=names.index)


@core_profile
@given(level_lists)
def test_ranks_are_positions(names: list[str]) -> None:
    levels = Levels(names)
    assert [levels.rank(n) for n in names] == list(range(len(names)))
    assert levels.names == tuple(names)
    assert all(n in levels for n in names)


def test_iso_style_levels() -> None:
    levels = Levels(["basic", "effective", "highly_effective", "strict"])
    assert levels.at_least("strict", "basic")
    assert not levels.at_least("basic", "effective")
    assert "gold" not in levels
    assert levels.highest(["effective", "basic"]) == "effective"


@pytest.mark.parametrize("names", [[], ["basic", "basic"]])
def test_levels_must_be_a_non_empty_list_of_unique_names(names: list[str]) -> None:
    with pytest.raises(ValueError, match="non-empty list of unique names"):
        Levels(names)
