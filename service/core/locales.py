"""Which of the languages we speak a person asked for: one negotiation for the API and the page.

``Accept-Language`` (RFC 9110 §12.5.4) lists language ranges with optional q-values. The best
range that matches wins: first an exact tag (case-insensitive, so ``pt-br`` finds ``pt-BR``),
then the range's language alone (``de-CH`` finds ``de``), then a regional variant of a bare
language (``pt`` finds ``pt-BR``). Ranges with ``q=0`` are refused ones, and ``*`` matches
nothing in particular: the caller falls back to its default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

MAX_HEADER = 512  # longer headers are cut: no browser sends more than a few ranges
MAX_RANGES = 16
_RANGE = re.compile(r"^([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)$")
_Q = re.compile(r"^[qQ]=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$")


def ranges(header: str | None) -> list[str]:
    """The header's language ranges, best first (stable among equal q), refused ones dropped."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header[:MAX_HEADER].split(",")[:MAX_RANGES]):
        tag, *params = (p.strip() for p in part.split(";"))
        if not _RANGE.fullmatch(tag):
            continue
        q = 1.0
        for param in params:
            m = _Q.fullmatch(param)
            q = float(m.group(1)) if m else q
        if q > 0:
            weighted.append((-q, i, tag))
    return [tag for _, _, tag in sorted(weighted)]


@lru_cache(maxsize=512)
def _negotiate(header: str, available: tuple[str, ...]) -> str | None:
    by_lower = {a.lower(): a for a in available}
    for tag in ranges(header):
        low = tag.lower()
        if low in by_lower:
            return by_lower[low]
        language = low.split("-")[0]
        if language in by_lower:
            return by_lower[language]
        regional = next((a for a in available if a.lower().split("-")[0] == language), None)
        if regional is not None:
            return regional
    return None


def negotiate(header: str | None, available: Sequence[str]) -> str | None:
    """The available locale the header asks for most, or None (use the default)."""
    if not header or not available:
        return None
    return _negotiate(header[:MAX_HEADER], tuple(available))
