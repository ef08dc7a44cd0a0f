"""The page's words in the other languages the bundled policy speaks (see texts.py)."""

from __future__ import annotations

from collections.abc import Mapping

MORE: Mapping[str, Mapping[str, str]] = {}
