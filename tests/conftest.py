"""Test-wide set-up: tests import shared builders from tests/factories.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
