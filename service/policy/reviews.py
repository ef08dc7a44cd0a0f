"""Compile a jurisdiction's review sections: ``recheck_requests``, ``pending_recheck`` and
``appeal``, each inherited whole from the nearest jurisdiction that sets it (``recheck_requests``
and ``pending_recheck`` field by field)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

from service.core.levels import Levels
from service.policy.compiled import AppealRules, GuardianRules, RecheckRules
from service.policy.model import JurisdictionSpec, PendingUpperEdge

Problem = tuple[tuple[str | int, ...], str]  # path under the jurisdiction, message


def _nearest(chain: Sequence[JurisdictionSpec], section: str, name: str) -> Any:
    for spec in chain:
        part = getattr(spec, section)
        if part is not None and getattr(part, name) is not None:
            return getattr(part, name)
    return None


def compile_rechecks(chain: Sequence[JurisdictionSpec]) -> RecheckRules:
    """``chain`` is the jurisdiction and its ancestors, nearest first."""
    base = RecheckRules()
    upper = _nearest(chain, "pending_recheck", "upper_level")
    return RecheckRules(
        deadline=_nearest(chain, "recheck_requests", "deadline") or base.deadline,
        max_deadline=_nearest(chain, "recheck_requests", "max_deadline") or base.max_deadline,
        min_level=_nearest(chain, "recheck_requests", "min_level"),
        overdue=_nearest(chain, "recheck_requests", "overdue") or base.overdue,
        keep_upper_level=upper is PendingUpperEdge.KEEP,
        max_level=_nearest(chain, "pending_recheck", "max_level"),
    )


def compile_appeal(chain: Sequence[JurisdictionSpec]) -> AppealRules | None:
    spec = next((s.appeal for s in chain if s.appeal is not None), None)
    if spec is None:
        return None
    return AppealRules(tuple(spec.methods), spec.deadline, dict(spec.message))


def compile_guardian(chain: Sequence[JurisdictionSpec]) -> GuardianRules | None:
    spec = next((s.guardian for s in chain if s.guardian is not None), None)
    if spec is None:
        return None
    return GuardianRules(
        min_level=spec.min_level,
        guardian_confirmed=spec.guardian_confirmed,
        code_ttl=spec.code_ttl or timedelta(minutes=30),
        max_children=spec.max_children,
        bands=tuple(spec.bands) if spec.bands is not None else None,
    )


def review_problems(
    spec: JurisdictionSpec, levels: Levels, methods: Collection[str], bands: Collection[str] = ()
) -> list[Problem]:
    """What is wrong with one jurisdiction's own review sections."""
    out: list[Problem] = []
    known = ", ".join(levels.names)
    requests = spec.recheck_requests
    if requests is not None:
        for name in ("deadline", "max_deadline", "overdue"):
            value: timedelta | None = getattr(requests, name)
            if value is not None and value <= timedelta(0):
                out.append((("recheck_requests", name), "must be more than 0"))
        if (
            requests.deadline is not None
            and requests.max_deadline is not None
            and requests.deadline > requests.max_deadline
        ):
            out.append((("recheck_requests", "deadline"), "must not be after max_deadline"))
        if requests.min_level is not None and requests.min_level not in levels:
            out.append(
                (("recheck_requests", "min_level"), f"unknown level {requests.min_level!r} (known: {known})")
            )
    pending = spec.pending_recheck
    if pending is not None and pending.max_level is not None and pending.max_level not in levels:
        out.append(
            (("pending_recheck", "max_level"), f"unknown level {pending.max_level!r} (known: {known})")
        )
    appeal = spec.appeal
    if appeal is not None:
        for i, m in enumerate(appeal.methods):
            if m not in methods:
                out.append(
                    (("appeal", "methods", i), f"unknown method {m!r} (known: {', '.join(sorted(methods))})")
                )
        if appeal.deadline <= timedelta(0):
            out.append((("appeal", "deadline"), "must be more than 0"))
    guardian = spec.guardian
    if guardian is not None:
        for name in ("min_level", "guardian_confirmed"):
            value = getattr(guardian, name)
            if value not in levels:
                out.append((("guardian", name), f"unknown level {value!r} (known: {known})"))
        if guardian.code_ttl is not None and not timedelta(0) < guardian.code_ttl <= timedelta(days=1):
            out.append((("guardian", "code_ttl"), "must be more than 0 and at most a day"))
        for i, band in enumerate(guardian.bands or []):
            if bands and band not in bands:
                out.append((("guardian", "bands", i), f"unknown band {band!r} (known: {', '.join(bands)})"))
    return out
