"""The two apps the HTTP benchmarks serve with identical uvicorn settings.

``bare`` is the baseline: a FastAPI endpoint that parses a small JSON body into a pydantic
model and answers JSON, with no authentication, store, signing or logging.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from pydantic import BaseModel

from service.app import create_app
from service.settings import Settings


class _In(BaseModel):
    sid: str


class _Out(BaseModel):
    token: str
    expires_in: int


bare = FastAPI()


@bare.post("/v1/tokens/refresh")
async def bare_refresh(body: _In) -> _Out:
    return _Out(token=body.sid, expires_in=300)


def ageband() -> FastAPI:
    """The real service on its embedded defaults (memory store, dev key, demo client)."""
    os.environ.setdefault("AGEBAND_PEPPER", "bench-pepper-" + "x" * 32)
    return create_app(Settings())
