"""Band resolution: an interval inside one band resolves; one that straddles is inconclusive."""

from __future__ import annotations

from dataclasses import dataclass

from service.core.bands import Band, BandSet
from service.core.intervals import AgeInterval


@dataclass(frozen=True, slots=True)
class Resolved:
    band: Band


@dataclass(frozen=True, slots=True)
class Inconclusive:
    touched: tuple[Band, ...]

    @property
    def youngest(self) -> Band:
        """When in doubt, treat the user as younger."""
        return self.touched[0]


@dataclass(frozen=True, slots=True)
class Contradiction:
    """The signals share no age: flag it, never average it away."""


Resolution = Resolved | Inconclusive | Contradiction


def resolve(interval: AgeInterval, bands: BandSet) -> Resolution:
    if interval.is_empty:
        return Contradiction()
    touched = bands.touched(interval)
    if len(touched) == 1:
        return Resolved(touched[0])
    return Inconclusive(touched)
