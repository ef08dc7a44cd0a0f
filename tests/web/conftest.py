"""Check page tests: anyio on asyncio; failing browser tests leave a screenshot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser import FAILED


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report
