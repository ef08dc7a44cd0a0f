"""Compile a jurisdiction's ``abuse`` section: limits and sanctions, inherited through ``extends``.

Each limit inherits separately from the nearest jurisdiction that sets it; sanctions merge
per signal, nearer jurisdictions replacing what an ancestor said about the same signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from service.core.levels import Levels
from service.policy.compiled import Abuse, Limit, SanctionRule
from service.policy.model import AbuseSpec, JurisdictionSpec, WindowLimit

LIMITS = ("per_sid", "per_device", "per_ip", "failures", "method_shopping", "shared_device")
Problem = tuple[tuple[str | int, ...], str]  # path under the jurisdiction, message


def compile_abuse(chain: Sequence[JurisdictionSpec]) -> Abuse:
    """``chain`` is the jurisdiction and its ancestors, nearest first."""
    specs = [s.abuse for s in chain if s.abuse is not None]
    limits: dict[str, Limit | None] = {}
    for name in LIMITS:
        found: WindowLimit | None = next((getattr(a, name) for a in specs if getattr(a, name)), None)
        limits[name] = Limit(found.max, found.window) if found else None
    sanctions: dict[str, SanctionRule] = {}
    for a in reversed(specs):  # ancestors first, so nearer jurisdictions override
        for signal, sp in (a.sanctions or {}).items():
            sanctions[signal.value] = SanctionRule(
                lock=sp.lock,
                min_level=sp.min_level,
                revoke_tokens=sp.revoke_tokens,
                notify=sp.notify,
                remember=sp.remember,
                message=dict(sp.message),
            )
    return Abuse(**limits, sanctions=sanctions)


def abuse_problems(spec: AbuseSpec | None, levels: Levels) -> list[Problem]:
    """What is wrong with one jurisdiction's own section (each reports its own, not inherited ones)."""
    if spec is None:
        return []
    out: list[Problem] = []
    for name in LIMITS:
        limit: WindowLimit | None = getattr(spec, name)
        if limit is not None and limit.window <= timedelta(0):
            out.append((("abuse", name, "window"), "must be more than 0"))
    for signal, sp in (spec.sanctions or {}).items():
        where: tuple[str | int, ...] = ("abuse", "sanctions", signal.value)
        if sp.min_level is not None and sp.min_level not in levels:
            known = ", ".join(levels.names)
            out.append(((*where, "min_level"), f"unknown level {sp.min_level!r} (known: {known})"))
        if sp.lock is not None and sp.lock <= timedelta(0):
            out.append(((*where, "lock"), "must be more than 0"))
        if sp.remember <= timedelta(0):
            out.append(((*where, "remember"), "must be more than 0"))
    return out
