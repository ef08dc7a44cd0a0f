"""The decision tables as a self-contained document an app can evaluate locally.

Layout (``v: 1``): ``keys`` lists every party as ``"band:level"`` (``"band:"`` with no level,
``""`` for an unknown band); ``outcomes`` lists each distinct outcome once; and
``jurisdictions[code].tables[action][i][j]`` is the index of the outcome for actor ``keys[i]``
and target ``keys[j]``; ``service[reason]`` is the index of the service's own denials
(``no_matching_rule``, ``invalid_token``, ``unknown_band``), so an app words them as the service
does. The service signs it (``typ: ageband-bundle+jwt``, with ``iss``, ``iat`` and ``exp``) with
its token keys.
"""

from __future__ import annotations

from typing import Any

from service.policy.compiled import Policy
from service.policy.interactions import Outcome, PartyKey

BUNDLE_VERSION = 1


def key_string(key: PartyKey) -> str:
    band, level = key
    return "" if band is None else f"{band}:{level or ''}"


def bundle_payload(policy: Policy) -> dict[str, Any]:
    tables = policy.tables
    keys = tables.party_keys
    index: dict[int, int] = {}
    outcomes: list[Outcome] = []

    def ref(o: Outcome) -> int:
        if id(o) not in index:
            index[id(o)] = len(outcomes)
            outcomes.append(o)
        return index[id(o)]

    jurisdictions: dict[str, Any] = {}
    for code, by_action in tables.cells.items():
        juris = policy.jurisdictions[code]
        jurisdictions[code] = {
            "safety_resources": {c: list(r) for c, r in juris.safety_resources.items()},
            "tables": {
                action: [[ref(by_actor[a][t]) for t in keys] for a in keys]
                for action, by_actor in by_action.items()
            },
        }
    service = {reason: ref(o) for reason, o in tables.service.items()}
    return {
        "v": BUNDLE_VERSION,
        "pol": policy.version,
        "default_locale": policy.default_locale,
        "bands": list(policy.bands.names),
        "levels": list(policy.levels.names),
        "actions": list(tables.actions),
        "keys": [key_string(k) for k in keys],
        "outcomes": [
            {
                "allowed": o.allowed,
                "rule": o.rule,
                "reason": o.reason,
                "message": dict(o.message),
                "obligations": list(o.obligations),
            }
            for o in outcomes
        ],
        "service": service,
        "jurisdictions": jurisdictions,
    }
