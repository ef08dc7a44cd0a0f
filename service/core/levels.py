"""Ordered assurance levels, e.g. basic < effective < highly_effective < strict."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class Levels:
    def __init__(self, names: Sequence[str]) -> None:
        if not names or len(set(names)) != len(names):
            raise ValueError("levels must be a non-empty list of unique names")
        self._rank = {n: i for i, n in enumerate(names)}
        self.names = tuple(names)

    def __contains__(self, name: object) -> bool:
        return name in self._rank

    def rank(self, name: str) -> int:
        return self._rank[name]

    def at_least(self, have: str, need: str) -> bool:
        return self._rank[have] >= self._rank[need]

    def highest(self, names: Iterable[str]) -> str:
        return max(names, key=self._rank.__getitem__)
