"""The decision tables as a self-contained document an app can evaluate locally.

Layout (``v: 2``; the README's "Deciding offline" is the full contract): ``keys`` lists every
party as ``"band:level:upper_level"`` (an empty part where a level is not stated, ``""`` for an
unknown band); ``outcomes`` lists each distinct outcome once. Per jurisdiction,
``actor_class[i]`` and ``target_class[i]`` give the class of party ``keys[i]`` on each side
(parties its rules cannot tell apart), and ``tables[action][a][t]`` is the index of the outcome
for an actor of class ``a`` and a target of class ``t``: the decision for actor ``keys[i]`` and
target ``keys[j]`` is ``outcomes[tables[action][actor_class[i]][target_class[j]]]``.
``service[reason]`` is the index of the service's own denials (``no_matching_rule``,
``invalid_token``, ``unknown_band``), so an app words them as the service does. ``top_band`` is
the oldest band: a party of it has no upper edge, so an evaluator drops its ``upper_level``
before the lookup, as the server does. A jurisdiction with deterrence carries ``deterrence``: its
message per locale and prevention services per country (``default`` among them), shown with a
denial whose obligations name ``deterrence``, so apps show it offline as the server would.
``service.flows.bundle`` signs it with the token keys.
"""

from __future__ import annotations

from typing import Any

from service.policy.compiled import Policy
from service.policy.interactions import Outcome, PartyKey

BUNDLE_VERSION = 2


def key_string(key: PartyKey) -> str:
    band, level, upper = key
    return "" if band is None else f"{band}:{level or ''}:{upper or ''}"


def bundle_payload(policy: Policy) -> dict[str, Any]:
    tables = policy.tables
    index: dict[int, int] = {}
    outcomes: list[Outcome] = []

    def ref(o: Outcome) -> int:
        if id(o) not in index:
            index[id(o)] = len(outcomes)
            outcomes.append(o)
        return index[id(o)]

    jurisdictions: dict[str, Any] = {}
    for code, table in tables.compact.items():
        juris = policy.jurisdictions[code]
        jurisdictions[code] = {
            "safety_resources": {c: list(r) for c, r in juris.safety_resources.items()},
            "deterrence": (
                {
                    "message": dict(juris.deterrence.message),
                    "resources": {c: [dict(x) for x in r] for c, r in juris.deterrence.resources.items()},
                }
                if juris.deterrence is not None
                else None
            ),
            "actor_class": list(table.actor_class),
            "target_class": list(table.target_class),
            "tables": {
                action: [[ref(o) for o in row] for row in grid] for action, grid in table.grids.items()
            },
        }
    service = {reason: ref(o) for reason, o in tables.service.items()}
    return {
        "v": BUNDLE_VERSION,
        "pol": policy.version,
        "default_locale": policy.default_locale,
        "bands": list(policy.bands.names),
        "top_band": tables.top_band,
        "levels": list(policy.levels.names),
        "actions": list(tables.actions),
        "keys": [key_string(k) for k in tables.party_keys],
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
