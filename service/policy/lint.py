"""Policy lint: what a loadable policy may still get wrong.

Errors are what the loader refuses (file:line, field path). Warnings are rules that can never
decide anything, rules of opposite effect that tie (deny wins silently), user-facing texts (rule,
sanction and service messages, method descriptions, the explanation) missing a language the
policy speaks, and (jurisdiction, action, actor band, target band) cells that no rule covers,
which fall to the default deny. The languages a policy speaks are those of ``explanation.why``
and its ``default_locale``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.policy.compiled import Policy
from service.policy.interactions import NO_RULE, SERVICE_MESSAGES, PartyKey, Rule, evaluate
from service.policy.loader import load_policy
from service.policy.rule_loader import party_classes, scope_of
from service.policy.yaml_source import PolicyError


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # error | warning
    code: str
    where: str  # file:line, or file
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.severity} [{self.code}] {self.message}"


def _where(rule: Rule) -> str:
    return f"{rule.file}:{rule.line}" if rule.line else rule.file


def _band(band: str | None) -> str:
    return band or "unknown"


def _members(keys: tuple[PartyKey, ...], classes: tuple[int, ...]) -> list[list[PartyKey]]:
    """The parties of each class, in class order."""
    out: list[list[PartyKey]] = [[] for _ in range(max(classes, default=-1) + 1)]
    for key, c in zip(keys, classes, strict=True):
        out[c].append(key)
    return out


def lint(path: Path) -> list[Finding]:
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        where = [(f"{i.file}:{i.line}" if i.line else i.file, i) for i in exc.issues]
        return [Finding("error", "schema", w, f"{i.path or '<root>'}: {i.message}") for w, i in where]
    return lint_policy(policy)


def lint_policy(policy: Policy) -> list[Finding]:
    out: list[Finding] = []
    locales = sorted({*policy.explanation_why, policy.default_locale})
    keys = policy.tables.party_keys
    for code, juris in policy.jurisdictions.items():
        scope = scope_of(juris, policy.levels, policy.bands)
        decided: set[str] = set()
        ties: dict[tuple[str, str], int] = defaultdict(int)
        uncovered: dict[str, set[tuple[str, str]]] = defaultdict(set)
        # One evaluation per pair of party classes (parties the rules cannot tell apart), each
        # counted for every pair of parties it stands for.
        sides = [party_classes(keys, scope, side) for side in ("actor", "target")]
        members = [_members(keys, classes) for classes, _ in sides]
        for action in policy.actions:
            for actor, a_keys in zip(sides[0][1], members[0], strict=True):
                for target, t_keys in zip(sides[1][1], members[1], strict=True):
                    outcome, trace = evaluate(scope, action, actor, target)
                    decided.add(outcome.rule)
                    if outcome.rule == NO_RULE:
                        uncovered[action].update((_band(a[0]), _band(t[0])) for a in a_keys for t in t_keys)
                        continue
                    top = [s for s in trace if s.matched and s.priority == max(
                        x.priority for x in trace if x.matched
                    )]  # fmt: skip
                    allows = [s.rule for s in top if s.effect == "allow"]
                    denies = [s.rule for s in top if s.effect == "deny"]
                    for a in allows:
                        for d in denies:
                            ties[(a, d)] += len(a_keys) * len(t_keys)
        for rule in juris.rules:
            if rule.defined_in != code:
                continue  # reported where it is written
            if rule.name not in decided:
                out.append(Finding(
                    "warning", "unreachable", _where(rule),
                    f"rule {rule.name!r} never decides any request in {code} "
                    "(no action it covers matches, or higher-priority rules always win)",
                ))  # fmt: skip
            out.extend(
                Finding(
                    "warning",
                    "missing_translation",
                    _where(rule),
                    f"rule {rule.name!r} has no message in {loc!r}",
                )
                for loc in locales
                if loc not in rule.message
            )
        by_name = {r.name: r for r in juris.rules}
        for (a, d), n in sorted(ties.items()):
            if by_name[a].defined_in != code and by_name[d].defined_in != code:
                continue
            own = by_name[d] if by_name[d].defined_in == code else by_name[a]
            out.append(Finding(
                "warning", "conflict", _where(own),
                f"in {code}, allow rule {a!r} and deny rule {d!r} both match {n} request(s) at priority "
                f"{by_name[a].priority}; deny wins (give one a higher priority to say which you mean)",
            ))  # fmt: skip
        for action, pairs in sorted(uncovered.items()):
            shown = ", ".join(f"{x}→{y}" for x, y in sorted(pairs))
            out.append(Finding(
                "warning", "uncovered", code,
                f"no rule covers {action} for actor→target band(s) {shown} (default deny)",
            ))  # fmt: skip
    straddling = [
        b.name for b in policy.bands if b.lo < policy.adult_age and not policy.is_minor_band(b.name)
    ]
    out.extend(
        Finding(
            "warning",
            "straddles_majority",
            "bands",
            f"band {name!r} holds minors and adults alike (the age of majority is {policy.adult_age}): "
            "it never counts as a minor band, so an adult claiming it raises no adult_claims_minor",
        )
        for name in straddling
    )
    out.extend(_untranslated(policy, locales))
    out.extend(
        Finding(
            "warning",
            "missing_translation",
            "messages",
            f"the service's {reason!r} message has no text in {loc!r} "
            f"(built-in: {', '.join(SERVICE_MESSAGES[reason])})",
        )
        for reason, outcome in policy.tables.service.items()
        for loc in locales
        if loc not in outcome.message
    )
    return out


def _untranslated(policy: Policy, locales: list[str]) -> list[Finding]:
    """Method descriptions, the explanation, sanction and appeal messages missing a language: each is
    shown to the user on the check page or as a refusal's consequence. A sanction is reported in
    the jurisdiction that writes it, not in every one that inherits it."""
    texts: list[tuple[str, str, Mapping[str, str]]] = [
        *(("methods", f"method {n!r} has no description", m.description) for n, m in policy.methods.items()),
        ("explanation", "explanation.keeps has no text", policy.explanation_keeps),
        ("explanation", "explanation.why has no text", policy.explanation_why),
    ]
    for code, juris in policy.jurisdictions.items():
        parent = policy.jurisdictions.get(juris.extends) if juris.extends else None
        for name, sanction in juris.abuse.sanctions.items():
            if parent is None or parent.abuse.sanctions.get(name) != sanction:
                texts.append((code, f"sanction {name!r} has no message", sanction.message))
        if juris.appeal is not None and (parent is None or parent.appeal != juris.appeal):
            texts.append((code, "appeal has no message", juris.appeal.message))
    return [
        Finding("warning", "missing_translation", where, f"{what} in {loc!r}")
        for where, what, text in texts
        for loc in locales
        if loc not in text
    ]
