"""Policy-defined age bands: contiguous, ordered, covering every age from 0 upward."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from service.core.intervals import AgeInterval


@dataclass(frozen=True, slots=True)
class Band:
    name: str
    lo: int
    hi: int | None  # None: unbounded above

    def contains(self, age: int) -> bool:
        return age >= self.lo and (self.hi is None or age <= self.hi)

    @property
    def interval(self) -> AgeInterval:
        return AgeInterval(self.lo, self.hi)


class BandError(ValueError):
    """An invalid band list; ``index`` and ``field`` (``name``, ``lo`` or ``hi``) locate the culprit."""

    def __init__(self, message: str, index: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.field = field


def _misplaced(band: Band, expected: int) -> str:
    if expected == 0:
        return f"the first band must start at 0, not {band.lo}"
    kind = "gap" if band.lo > expected else "overlap"
    return f"{kind}: band {band.name!r} starts at {band.lo}, but the band before it ends at {expected - 1}"


class BandSet:
    """An ordered partition of ages ``[0, ∞)`` into named bands."""

    def __init__(self, bands: Sequence[Band]) -> None:
        if not bands:
            raise BandError("at least one band is required")
        expected = 0
        seen: set[str] = set()
        for i, band in enumerate(bands):
            if band.name in seen:
                raise BandError(f"band names must be unique: {band.name!r} appears twice", i, "name")
            seen.add(band.name)
            if band.lo != expected:
                raise BandError(_misplaced(band, expected), i, "lo")
            last = i == len(bands) - 1
            if band.hi is None and not last:
                raise BandError(f"only the last band may be unbounded, not {band.name!r}", i, "hi")
            if band.hi is not None:
                if band.hi < band.lo:
                    raise BandError(f"band {band.name!r} ends before it starts", i, "hi")
                if last:
                    raise BandError(f"the last band {band.name!r} must be unbounded", i, "hi")
                expected = band.hi + 1
        self._bands = tuple(bands)
        self._index = {b.name: i for i, b in enumerate(bands)}

    def __iter__(self) -> Iterator[Band]:
        return iter(self._bands)

    def __len__(self) -> int:
        return len(self._bands)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self._bands)

    def get(self, name: str) -> Band:
        return self._bands[self._index[name]]

    def rank(self, name: str) -> int:
        """0 for the youngest band."""
        return self._index[name]

    def for_age(self, age: int) -> Band:
        for band in self._bands:
            if band.contains(age):
                return band
        raise ValueError(f"negative age {age}")

    def next_after(self, name: str) -> Band | None:
        i = self._index[name] + 1
        return self._bands[i] if i < len(self._bands) else None

    def touched(self, interval: AgeInterval) -> tuple[Band, ...]:
        """Every band that shares at least one age with the interval, youngest first."""
        return tuple(b for b in self._bands if not interval.intersect(b.interval).is_empty)
