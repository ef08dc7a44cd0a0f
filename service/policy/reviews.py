"""Compile a jurisdiction's review sections: ``recheck_requests``, ``pending_recheck`` and
``appeal``, each inherited whole from the nearest jurisdiction that sets it (``recheck_requests``
and ``pending_recheck`` field by field)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

from service.core.durations import format_duration
from service.core.levels import Levels
from service.policy.compiled import (
    AppealRules,
    GuardianRules,
    Jurisdiction,
    Policy,
    RecheckRules,
    TrustedRules,
)
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


def compile_trusted(chain: Sequence[JurisdictionSpec]) -> TrustedRules | None:
    spec = next((s.trusted for s in chain if s.trusted is not None), None)
    if spec is None:
        return None
    return TrustedRules(
        min_band=spec.min_band,
        across_adult_line=spec.across_adult_line,
        confirm_within=spec.confirm_within or timedelta(days=7),
        ttl=spec.ttl or timedelta(days=365),
    )


def review_problems(
    spec: JurisdictionSpec, levels: Levels, methods: Collection[str], bands: Collection[str] = ()
) -> list[Problem]:
    """What is wrong with one jurisdiction's own review sections."""
    return [
        *_request_problems(spec, levels),
        *_appeal_problems(spec, methods),
        *_guardian_problems(spec, levels, bands),
        *_trusted_problems(spec, bands),
    ]


def _unknown(kind: str, value: str, known: Collection[str]) -> str:
    return f"unknown {kind} {value!r} (known: {', '.join(known)})"


def _request_problems(spec: JurisdictionSpec, levels: Levels) -> list[Problem]:
    out: list[Problem] = []
    requests = spec.recheck_requests
    if requests is not None:
        for name in ("deadline", "max_deadline", "overdue"):
            value: timedelta | None = getattr(requests, name)
            if value is not None and value <= timedelta(0):
                out.append((("recheck_requests", name), "must be more than 0"))
        if requests.deadline and requests.max_deadline and requests.deadline > requests.max_deadline:
            out.append((("recheck_requests", "deadline"), "must not be after max_deadline"))
        if requests.min_level is not None and requests.min_level not in levels:
            out.append(
                (("recheck_requests", "min_level"), _unknown("level", requests.min_level, levels.names))
            )
    pending = spec.pending_recheck
    if pending is not None and pending.max_level is not None and pending.max_level not in levels:
        out.append((("pending_recheck", "max_level"), _unknown("level", pending.max_level, levels.names)))
    return out


def _appeal_problems(spec: JurisdictionSpec, methods: Collection[str]) -> list[Problem]:
    appeal = spec.appeal
    if appeal is None:
        return []
    out: list[Problem] = [
        (("appeal", "methods", i), _unknown("method", m, sorted(methods)))
        for i, m in enumerate(appeal.methods)
        if m not in methods
    ]
    if appeal.deadline <= timedelta(0):
        out.append((("appeal", "deadline"), "must be more than 0"))
    return out


def _guardian_problems(spec: JurisdictionSpec, levels: Levels, bands: Collection[str]) -> list[Problem]:
    guardian = spec.guardian
    if guardian is None:
        return []
    out: list[Problem] = [
        (("guardian", name), _unknown("level", getattr(guardian, name), levels.names))
        for name in ("min_level", "guardian_confirmed")
        if getattr(guardian, name) not in levels
    ]
    if guardian.code_ttl is not None and not timedelta(0) < guardian.code_ttl <= timedelta(days=1):
        out.append((("guardian", "code_ttl"), "must be more than 0 and at most a day"))
    out += [
        (("guardian", "bands", i), _unknown("band", band, bands))
        for i, band in enumerate(guardian.bands or [])
        if bands and band not in bands
    ]
    return out


def _trusted_problems(spec: JurisdictionSpec, bands: Collection[str]) -> list[Problem]:
    trusted = spec.trusted
    if trusted is None:
        return []
    out: list[Problem] = []
    if bands and trusted.min_band not in bands:
        out.append((("trusted", "min_band"), _unknown("band", trusted.min_band, bands)))
    for name in ("confirm_within", "ttl"):
        value = getattr(trusted, name)
        if value is not None and value <= timedelta(0):
            out.append((("trusted", name), "must be more than 0"))
    return out


def review_settings(j: Jurisdiction) -> dict[str, str]:
    """The review sections as ``path → text`` for ``ageband policy diff`` (inherited values resolved)."""
    r = j.rechecks
    out = {
        "recheck_requests.deadline": format_duration(r.deadline),
        "recheck_requests.max_deadline": format_duration(r.max_deadline),
        "recheck_requests.min_level": r.min_level or f"(upgrade_level: {j.upgrade_level})",
        "recheck_requests.overdue": format_duration(r.overdue),
        "pending_recheck.upper_level": "keep" if r.keep_upper_level else "unconfirmed",
        "pending_recheck.max_level": r.max_level or "as on record",
    }
    if j.appeal is not None:
        out["appeal.methods"] = ", ".join(j.appeal.methods)
        out["appeal.deadline"] = format_duration(j.appeal.deadline)
        out |= {f"appeal.message.{loc}": text for loc, text in j.appeal.message.items()}
    else:
        out["appeal"] = "none"
    g = j.guardian
    if g is not None:
        out |= {
            "guardian.min_level": g.min_level,
            "guardian.guardian_confirmed": g.guardian_confirmed,
            "guardian.code_ttl": format_duration(g.code_ttl),
            "guardian.max_children": str(g.max_children),
            "guardian.bands": ", ".join(g.bands) if g.bands is not None else "every minor band",
        }
    else:
        out["guardian"] = "none"
    t = j.trusted
    if t is not None:
        out |= {
            "trusted.min_band": t.min_band,
            "trusted.across_adult_line": str(t.across_adult_line).lower(),
            "trusted.confirm_within": format_duration(t.confirm_within),
            "trusted.ttl": format_duration(t.ttl),
        }
    else:
        out["trusted"] = "none"
    return out


def trusted_refusal(policy: Policy, juris: Jurisdiction, actor: str | None, target: str | None) -> str | None:
    """Why ``relationship: trusted`` cannot be honoured between these bands here, whatever proof
    is given; None when a connection both confirmed would be (decisions and explain alike)."""
    rules = juris.trusted
    if rules is None:
        return "this jurisdiction has no trusted connections"
    if actor is None or target is None or actor not in policy.bands or target not in policy.bands:
        return "a party of unknown age is never trusted"
    floor = policy.bands.rank(rules.min_band)
    if policy.bands.rank(actor) < floor or policy.bands.rank(target) < floor:
        return f"both bands must be at or above trusted.min_band {rules.min_band}"
    if not rules.across_adult_line and policy.is_minor_band(actor) != policy.is_minor_band(target):
        return "it never crosses the adult-minor line here (trusted.across_adult_line: false)"
    return None


def set_aside(juris: Jurisdiction) -> tuple[str, ...]:
    """The rules a trusted connection sets aside: those the policy marks ``relaxable``."""
    return tuple(r.name for r in juris.rules if r.relaxable)
