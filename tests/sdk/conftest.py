"""SDK tests run on asyncio through anyio, against the service itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tokens_forge lives beside the tokens tests; make it importable here by its unique name.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tokens"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
