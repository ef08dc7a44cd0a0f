"""Builders for the estimation tests: a ProviderContext with chosen policy parameters, and
settings that back the ``facial_estimation`` method with a provider."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from factories import make_settings

from providers.base import MethodParams, ProviderContext
from service.core.bands import Band, BandSet
from service.settings import Settings

BANDS = BandSet(
    [Band("under_13", 0, 12), Band("13_15", 13, 15), Band("16_17", 16, 17), Band("18_plus", 18, None)]
)


def estimation_context(
    *, buffer: float = 0.0, k: float = 1.0, max_sigma: float | None = 6.0, liveness: bool = False
) -> ProviderContext:
    method = MethodParams("facial_estimation", buffer, k, max_sigma, liveness)
    return ProviderContext(now=datetime(2026, 3, 10, 12, 0, tzinfo=UTC), bands=BANDS, method=method)


def estimation_settings(provider: str, config: dict[str, Any] | None = None, **overrides: Any) -> Settings:
    """Settings with the ``facial_estimation`` method backed by ``provider``."""
    instance = {"type": provider, "config": config or {}}
    return make_settings(
        providers={
            "enabled": ["os_signal", "self_declaration", "facial_estimation"],
            "instances": {"facial_estimation": instance},
        },
        **overrides,
    )
