"""Fixtures for the eid_oidc tests: the anyio backend and one real identity provider per module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from oidc_servers import mock_idp  # noqa: E402

USERS = [
    {"sub": "adult", "claims": {"birthdate": "1990-05-17"}},
    {"sub": "teen", "claims": {"birthdate": "2011-02-10"}},
    {"sub": "over18-only", "claims": {"age_over_18": True}},
    {"sub": "no-age", "claims": {"email": "x@example.invalid"}},
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def idp() -> Iterator[str]:
    with mock_idp(USERS) as issuer:
        yield issuer


@pytest.fixture(scope="module")
def other_idp() -> Iterator[str]:
    with mock_idp(USERS) as issuer:
        yield issuer
