"""How ``ageband policy diff`` words its summary: a headline, then a row per jurisdiction and action."""

from __future__ import annotations

from service.policy.diff import JurisdictionChange, PolicyDiff

SUMMARY_COLUMNS = ("jurisdiction", "change", "settings", "action", "decisions", "now allowed", "now denied")


def headline(diff: PolicyDiff) -> str:
    if not diff:
        return "no changes: no setting and no decision differs"
    by_status: dict[str, list[str]] = {}
    for j in diff.jurisdictions:
        by_status.setdefault(j.status, []).append(j.code)
    parts = [f"{len(codes)} {status} ({', '.join(codes)})" for status, codes in by_status.items()]
    if diff.unchanged:
        parts.append(f"{len(diff.unchanged)} unchanged")
    where = f"jurisdictions: {', '.join(parts)}" if parts else "no jurisdiction changes"
    policy_wide = sum(s.jurisdiction == "*" for s in diff.settings)
    counts = f"{len(diff.settings)} setting change(s)"
    if policy_wide:
        counts += f" ({policy_wide} policy-wide, jurisdiction *)"
    return f"{where}; {counts}, {len(diff.decisions)} decision change(s)"


def summary_rows(diff: PolicyDiff) -> list[list[str]]:
    rows = []
    for j in diff.jurisdictions:
        actions = [a for a, n in j.decisions.items() if n]
        if not actions:
            rows.append([j.code, j.change, str(j.settings), "—", "0", "0", "0"])
        rows += [[j.code, j.change, str(j.settings), action, *_counts(j, action)] for action in actions]
    return rows


def _counts(j: JurisdictionChange, action: str) -> list[str]:
    if j.status == "removed" or (j.status == "added" and j.baseline is None):
        return [str(j.decisions[action]), "—", "—"]  # counted, not compared
    return [str(j.decisions[action]), str(j.now_allowed[action]), str(j.now_denied[action])]
