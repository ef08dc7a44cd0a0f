"""Accept-Language negotiation, shared by the API and the check page."""

from __future__ import annotations

import pytest

from service.core.locales import negotiate, ranges

SPOKEN = ("en", "de", "fr", "es", "it", "nl", "pl", "pt-BR", "sv", "fi")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de", "de"),
        ("DE-at", "de"),  # any case; a region we lack finds its language
        ("pt", "pt-BR"),  # a bare language finds its regional variant
        ("pt-br", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("ja, fi;q=0.5, sv;q=0.9", "sv"),  # q-values, not order, rank the ranges
        ("fr;q=0.5, nl;q=0.5", "fr"),  # equal q: the earlier range
        ("fr;q=0, it", "it"),  # q=0 refuses a language
        ("*", None),
        ("ja, zh", None),
        ("", None),
        (None, None),
        ("en;q=2, de", "en"),  # an invalid q is ignored: the range keeps q=1 and comes first
        ("<script>, es", "es"),  # a malformed range is skipped
    ],
)
def test_negotiation(header: str | None, expected: str | None) -> None:
    assert negotiate(header, SPOKEN) == expected


def test_ranges_are_bounded() -> None:
    assert len(ranges(",".join(["de"] * 1000))) <= 16
    assert ranges("x" * 10_000) == []
