"""Find providers through the ``ageband.providers`` entry-point group and build the enabled ones.

Built-in providers register through the same group as third-party ones. A provider that fails
to load, a duplicate name, or an enabled name with no provider stops start-up.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from providers.base import Closeable, Provider, ProviderFactory, ProviderInfo

GROUP = "ageband.providers"


class ProviderLoadError(Exception):
    """Start-up must stop: the message says which provider and why."""


@dataclass(frozen=True, slots=True)
class InstanceConfig:
    """One enabled provider instance: its name, the entry point that builds it, its settings."""

    name: str
    type: str
    config: Mapping[str, Any]


def discover(eps: Iterable[EntryPoint] | None = None) -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in eps if eps is not None else entry_points(group=GROUP):
        if ep.name in found and found[ep.name].value != ep.value:
            raise ProviderLoadError(
                f"duplicate provider name {ep.name!r}: {found[ep.name].value} and {ep.value}"
            )
        found[ep.name] = ep
    return found


class Registry:
    def __init__(self, providers: Mapping[str, Provider]) -> None:
        self._providers = dict(providers)

    def __contains__(self, name: object) -> bool:
        return name in self._providers

    def get(self, name: str) -> Provider | None:
        return self._providers.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._providers)

    def available(self, name: str) -> bool:
        p = self._providers.get(name)
        return p is not None and p.unavailable() is None

    async def aclose(self) -> None:
        """Close the providers that hold resources. Each is closed even if another fails; the
        first failure is raised once all have been tried."""
        failures: list[Exception] = []
        for p in self._providers.values():
            if isinstance(p, Closeable):
                try:
                    await p.aclose()
                except Exception as exc:  # noqa: BLE001 - reported below, after the others closed
                    failures.append(exc)
        if failures:
            raise failures[0]

    def info(self) -> list[ProviderInfo]:
        out = []
        for p in self._providers.values():
            why = p.unavailable()
            out.append(
                ProviderInfo(
                    name=p.name,
                    method_class=p.method_class,
                    flow=p.flow,
                    evidence_kinds=p.evidence_kinds,
                    available=why is None,
                    unavailable_reason=why.reason if why else None,
                )
            )
        return out


def build(
    instances: Iterable[InstanceConfig],
    eps: Mapping[str, EntryPoint] | None = None,
    load: Callable[[EntryPoint], Any] = EntryPoint.load,
) -> Registry:
    known = dict(eps) if eps is not None else discover()
    built: dict[str, Provider] = {}
    for inst in instances:
        if inst.name in built:
            raise ProviderLoadError(f"provider instance {inst.name!r} is enabled twice")
        ep = known.get(inst.type)
        if ep is None:
            installed = ", ".join(sorted(known)) or "none"
            raise ProviderLoadError(f"no provider {inst.type!r} for {inst.name!r} (installed: {installed})")
        try:
            factory: ProviderFactory = load(ep)
            provider = factory(inst.name, inst.config)
        except Exception as exc:  # any failure to import or configure stops start-up
            raise ProviderLoadError(
                f"provider {inst.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(provider, Provider) or not inspect.iscoroutinefunction(provider.submit):
            raise ProviderLoadError(
                f"provider {inst.name!r} ({ep.value}) does not implement the provider protocol"
            )
        if provider.name != inst.name:
            raise ProviderLoadError(
                f"provider {inst.name!r} ({ep.value}) calls itself {provider.name!r}: it must keep the "
                "name it is given"
            )
        built[inst.name] = provider
    return Registry(built)
