"""What an age band lets a person do, in words made from the jurisdiction's rules.

For each action of the policy: the bands the person may do it with (each taken at its strongest
assurance, so the answer is what the band itself allows), or, when the rules allow it with no
one, the message of the rule that says no. Nothing here is written per page: a changed rule
changes the text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from service.policy.compiled import Policy
from service.policy.interactions import NO_RULE_REASON


def lines(
    policy: Policy,
    jurisdiction: str,
    band: str,
    level: str | None,
    upper_level: str | None,
    locale: str | None,
    t: Mapping[str, str],
    label: Callable[[str], str],
) -> list[str]:
    tables = policy.tables
    if jurisdiction not in tables.cells:
        return []
    top = policy.levels.names[-1]
    actor = tables.normalize((band, level, upper_level))
    if actor not in tables.party_keys:
        return []
    out: list[str] = []
    for action in policy.actions:
        allowed: list[str] = []
        refusal: str | None = None
        for target in policy.bands.names:
            outcome = tables.decide(jurisdiction, action, actor, tables.normalize((target, top, top)))
            if outcome.allowed:
                allowed.append(label(target))
            elif refusal is None and outcome.reason != NO_RULE_REASON and outcome.message:
                refusal = policy.text(outcome.message, locale)
        name = t.get(action, action)
        if allowed:
            bands = ", ".join(allowed[:-1]) + f" {t['and']} {allowed[-1]}" if len(allowed) > 1 else allowed[0]
            out.append(t["you_can"].format(action=name, bands=bands))
        else:
            out.append(t["you_cannot"].format(action=name) + (f" {refusal}" if refusal else ""))
    return out
