"""``ageband policy lint | test | explain | diff``: the policy owner's toolkit.

Coloured tables on a terminal; plain, tab-separated lines otherwise (CI logs, pipes, golden files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from service.policy.bundle import key_string
from service.policy.compiled import Policy
from service.policy.interactions import PartyKey, evaluate
from service.policy.lint import lint
from service.policy.loader import load_policy
from service.policy.rule_loader import scope_of
from service.policy.testing import SuiteError, junit_xml, run_suites, suite_files
from service.policy.yaml_source import PolicyError

PolicyPath = Annotated[Path, typer.Argument(help="Policy file or directory.")]


def _party(band: str | None, level: str | None) -> PartyKey:
    return (None, None) if band in (None, "unknown") else (band, level)


def _label(key: PartyKey) -> str:
    return key_string(key).rstrip(":").replace(":", "@") or "unknown"


def _load(path: Path, err: Console) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        for issue in exc.issues:
            err.print(f"[red]error[/] {issue}", highlight=False)
        raise typer.Exit(1) from None


def _table(out: Console, title: str, columns: list[str], rows: list[list[str]]) -> None:
    if out.is_terminal:
        table = Table(title=title)
        for c in columns:
            table.add_column(c)
        for r in rows:
            table.add_row(*r)
        out.print(table)
    else:
        # Real tabs (rich would expand them): one row per line, for pipes, CI logs and diffs.
        typer.echo("\t".join(columns))
        for r in rows:
            typer.echo("\t".join(r))


out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("lint")(policy_lint)
    app.command("test")(policy_test)
    app.command("explain")(policy_explain)
    app.command("diff")(policy_diff)


def policy_lint(
    path: PolicyPath = Path("policies"),
    strict: Annotated[bool, typer.Option(help="Fail on warnings too.")] = False,
) -> None:
    """Schema errors (file:line, path), unreachable and conflicting rules, missing translations,
    and band pairs no rule covers."""
    findings = lint(path)
    for f in findings:
        colour = "red" if f.severity == "error" else "yellow"
        out.print(
            f"{escape(f.where)}: [{colour}]{f.severity}[/] {escape(f'[{f.code}] {f.message}')}",
            highlight=False,
        )
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    out.print(f"{errors} error(s), {warnings} warning(s)", highlight=False)
    if errors or (strict and warnings):
        raise typer.Exit(1)


def policy_test(
    path: PolicyPath = Path("policies"),
    junit: Annotated[Path | None, typer.Option("--junit-xml", help="Also write JUnit XML here.")] = None,
) -> None:
    """Run the suites in <policy>/tests/*_test.yaml (each with a pinned 'now')."""
    policy = _load(path, err)
    files = suite_files(path)
    if not files:
        err.print(f"[red]no *_test.yaml suites under {path}/tests[/]", highlight=False)
        raise typer.Exit(1)
    try:
        results = run_suites(policy, files)
    except SuiteError as exc:
        err.print(f"[red]error[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    for r in results:
        mark = "[green]PASS[/]" if r.passed else "[red]FAIL[/]"
        out.print(
            f"{mark} {r.suite}: {r.case}" + (f"\n     {r.failure}" if r.failure else ""), highlight=False
        )
    failed = sum(not r.passed for r in results)
    out.print(f"{len(results) - failed} passed, {failed} failed", highlight=False)
    if junit is not None:
        junit.write_text(junit_xml(results), encoding="utf-8")
    if failed:
        raise typer.Exit(1)


def policy_explain(
    jurisdiction: Annotated[str, typer.Option(help="e.g. GB")],
    action: Annotated[str, typer.Option(help="e.g. profile.view")],
    actor: Annotated[str, typer.Option(help="Actor band, or 'unknown'.")] = "unknown",
    target: Annotated[str, typer.Option(help="Target band, or 'unknown'.")] = "unknown",
    actor_level: Annotated[str | None, typer.Option(help="Actor's assurance level.")] = None,
    target_level: Annotated[str | None, typer.Option(help="Target's assurance level.")] = None,
    path: Annotated[Path, typer.Option("--policy", help="Policy file or directory.")] = Path("policies"),
) -> None:
    """The decision, the rule that made it, and why every other rule did or did not match."""
    policy = _load(path, err)
    a, t = _party(actor, actor_level), _party(target, target_level)
    try:
        outcome = policy.tables.decide(jurisdiction, action, a, t)
    except Exception as exc:  # noqa: BLE001  # an AgebandError or KeyError: report, exit 2
        err.print(f"[red]error[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    juris = policy.jurisdiction(jurisdiction)
    _, trace = evaluate(scope_of(juris, policy.levels), action, a, t)
    effect = "[green]ALLOW[/]" if outcome.allowed else "[red]DENY[/]"
    out.print(
        f"{effect} {jurisdiction} {action}: actor {_label(a)} → target {_label(t)}\n"
        f"rule {outcome.rule}, reason {outcome.reason}: {policy.text(outcome.message, None)}",
        highlight=False,
    )
    if a[0] is None:
        out.print(
            f"actor of unknown age is evaluated as {juris.unknown_actor} with no level", highlight=False
        )
    if t[0] is None:
        out.print(
            f"target of unknown age is evaluated as {juris.unknown_target} with no level", highlight=False
        )
    if outcome.obligations:
        out.print(f"obligations: {', '.join(outcome.obligations)}", highlight=False)
    out.print("precedence: highest priority wins; at equal priority deny beats allow", highlight=False)
    rows = [
        [
            s.rule,
            s.effect,
            str(s.priority),
            "yes" if s.matched else "no",
            s.why,
            "◀" if s.rule == outcome.rule else "",
        ]
        for s in trace
    ]
    _table(out, "rules in order", ["rule", "effect", "priority", "matched", "why", "decides"], rows)


def policy_diff(
    old: Annotated[Path, typer.Argument(help="The policy as it is.")],
    new: Annotated[Path, typer.Argument(help="The policy as proposed.")],
) -> None:
    """Every decision that changes: jurisdiction × action × actor band × target band."""
    a, b = _load(old, err), _load(new, err)
    out.print(f"policy {a.version} → {b.version}", highlight=False)
    rows: list[list[str]] = []
    codes = sorted(set(a.jurisdictions) | set(b.jurisdictions))
    actions = sorted(set(a.actions) | set(b.actions))
    keys = sorted(set(a.tables.party_keys) | set(b.tables.party_keys), key=lambda k: (k[0] or "", k[1] or ""))
    for code in codes:
        for action in actions:
            for actor in keys:
                for target in keys:
                    before = _cell(a, code, action, actor, target)
                    after = _cell(b, code, action, actor, target)
                    if before != after:
                        rows.append([code, action, _label(actor), _label(target), before, after])
    if not rows:
        out.print("no decision changes", highlight=False)
        return
    _table(
        out,
        f"{len(rows)} decision(s) change",
        ["jurisdiction", "action", "actor", "target", "old", "new"],
        rows,
    )


def _cell(policy: Policy, code: str, action: str, actor: PartyKey, target: PartyKey) -> str:
    cells = policy.tables.cells
    try:
        o = cells[code][action][actor][target]
    except KeyError:
        return "—"
    return f"{'allow' if o.allowed else 'deny'} ({o.rule})"
