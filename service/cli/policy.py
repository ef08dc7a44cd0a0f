"""``ageband policy lint | test | explain | diff``: the policy owner's toolkit.

Tables that wrap to the width of a terminal; elsewhere (CI logs, pipes, golden files) a title
line and plain, tab-separated rows.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from service.cli.policy_diff import SUMMARY_COLUMNS, headline, summary_rows
from service.cli.scenarios import run_scenarios
from service.cli.tables import print_table
from service.policy.compiled import Jurisdiction, Policy
from service.policy.diff import diff_policies, grouped, party_label
from service.policy.interactions import PartyKey, evaluate
from service.policy.lint import lint
from service.policy.loader import load_policy
from service.policy.reviews import set_aside, trusted_refusal
from service.policy.rule_loader import scope_of
from service.policy.testing import SuiteError, junit_xml, run_suites, suite_files
from service.policy.yaml_source import PolicyError

PolicyPath = Annotated[Path, typer.Argument(help="Policy file or directory.")]


def _party(band: str | None, level: str | None, upper: str | None = None) -> PartyKey:
    return (None, None, None) if band in (None, "unknown") else (band, level, upper)


def _load(path: Path, err: Console) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        for issue in exc.issues:
            err.print(f"[red]error[/] {issue}", highlight=False)
        raise typer.Exit(1) from None


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
    """Run the suites in <policy>/tests/*_test.yaml (each with a pinned 'now'): their decision
    cases, and their scenarios of checks and decisions through the real check flow."""
    policy = _load(path, err)
    files = suite_files(path)
    if not files:
        err.print(f"[red]no *_test.yaml suites under {path}/tests[/]", highlight=False)
        raise typer.Exit(1)
    try:
        results = run_suites(policy, files) + run_scenarios(path, files)
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
    actor_level: Annotated[str | None, typer.Option(help="Actor's assurance level (lower edge).")] = None,
    target_level: Annotated[str | None, typer.Option(help="Target's assurance level (lower edge).")] = None,
    actor_upper_level: Annotated[
        str | None, typer.Option(help="How well the actor's band's upper edge is established.")
    ] = None,
    target_upper_level: Annotated[
        str | None, typer.Option(help="How well the target's band's upper edge is established.")
    ] = None,
    trusted: Annotated[
        bool,
        typer.Option(
            "--trusted",
            help="As with relationship: trusted and a connection both users confirmed: the rules "
            "marked relaxable are set aside where the jurisdiction honours it for these bands.",
        ),
    ] = False,
    path: Annotated[Path, typer.Option("--policy", help="Policy file or directory.")] = Path("policies"),
) -> None:
    """The decision, the rule that made it, and why every other rule did or did not match; what a
    trusted connection would change (--trusted to decide as with one)."""
    policy = _load(path, err)
    a, t = _party(actor, actor_level, actor_upper_level), _party(target, target_level, target_upper_level)
    try:
        outcome = policy.tables.decide(jurisdiction, action, a, t)
    except Exception as exc:  # noqa: BLE001  # an AgebandError or KeyError: report, exit 2
        err.print(f"[red]error[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    juris = policy.jurisdiction(jurisdiction)
    scope = scope_of(juris, policy.levels, policy.bands)
    relaxable = set(set_aside(juris))
    # Decisions refuse trust between parties of unknown age, so the bands as given are judged.
    refusal = trusted_refusal(policy, juris, a[0], t[0])
    honoured = trusted and refusal is None
    if honoured:
        # As decisions do with the proof: the relaxable rules are set aside.
        scope = replace(scope, rules=tuple(r for r in scope.rules if not r.relaxable))
    outcome_now, trace = evaluate(scope, action, a, t)
    if honoured:
        outcome = outcome_now
    effect = "[green]ALLOW[/]" if outcome.allowed else "[red]DENY[/]"
    out.print(
        f"{effect} {jurisdiction} {action}: actor {party_label(a)} → target {party_label(t)}"
        f"{' (trusted connection)' if honoured else ''}\n"
        f"rule {outcome.rule}, reason {outcome.reason}: {policy.text(outcome.message, None)}",
        highlight=False,
    )
    _explain_trusted(juris, relaxable, refusal, trusted=trusted)
    if a[0] is None:
        out.print(
            f"actor of unknown age is evaluated as {juris.unknown_actor} with no level on either edge",
            highlight=False,
        )
    if t[0] is None:
        out.print(
            f"target of unknown age is evaluated as {juris.unknown_target} with no level on either edge",
            highlight=False,
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
            "yes" if s.rule in relaxable else "no",
            "◀" if s.rule == outcome.rule else "",
        ]
        for s in trace
    ]
    if honoured:  # the rules set aside, as the trace no longer holds them
        rows += [
            [name, "—", "—", "—", "set aside: trusted connection", "yes", ""] for name in sorted(relaxable)
        ]
    columns = ["rule", "effect", "priority", "matched", "why", "relaxable", "decides"]
    print_table(out, "rules in order", columns, rows)


def _explain_trusted(juris: Jurisdiction, relaxable: set[str], refusal: str | None, *, trusted: bool) -> None:
    """Where trusted connections stand for this pair: the section, the rules they set aside, and
    whether these bands may have one at all."""
    rules = juris.trusted
    if rules is None:
        out.print("trusted connections: none in this jurisdiction", highlight=False)
        return
    line = "yes" if rules.across_adult_line else "no"
    names = ", ".join(sorted(relaxable)) or "none"
    out.print(
        f"trusted connections: min band {rules.min_band}, across the adult line: {line}; "
        f"relaxable rules: {names}",
        highlight=False,
    )
    if refusal is not None:
        out.print(f"a trusted connection is not honoured for these bands: {refusal}", highlight=False)
    elif not trusted:
        out.print("these bands may have a trusted connection: --trusted decides as with one", highlight=False)


def policy_diff(
    old: Annotated[Path, typer.Argument(help="The policy as it is.")],
    new: Annotated[Path, typer.Argument(help="The policy as proposed.")],
    jurisdiction: Annotated[
        list[str] | None, typer.Option("--jurisdiction", "-j", help="Only this jurisdiction (repeatable).")
    ] = None,
    action: Annotated[
        list[str] | None, typer.Option("--action", "-a", help="Only decisions on this action (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="Rows shown per list of changes.")] = 50,
    full: Annotated[bool, typer.Option("--full", help="Show every row (no --limit).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Every change as JSON (never limited).")] = False,
) -> None:
    """What changes: a summary per jurisdiction and action, then settings (re-checks, waterfall,
    grace, attempts, levels, rules, texts) and decisions (jurisdiction × action × actor × target).

    A new jurisdiction is compared with the one it extends."""
    a, b = _load(old, err), _load(new, err)
    for flag, wanted, known in (
        ("--jurisdiction", jurisdiction, {*a.jurisdictions, *b.jurisdictions}),
        ("--action", action, {*a.actions, *b.actions}),
    ):
        if unknown := sorted(set(wanted or ()) - known):
            err.print(
                f"[red]error[/] {flag} {escape(', '.join(unknown))}: in neither policy "
                f"(known: {escape(', '.join(sorted(known)))})",
                highlight=False,
            )
            raise typer.Exit(2)
    diff = diff_policies(a, b, jurisdiction or (), action or ())
    if as_json:
        typer.echo(json.dumps(diff.as_dict(), indent=2, ensure_ascii=False))
        return
    out.print(f"policy {diff.old_version} → {diff.new_version}", highlight=False)
    out.print(headline(diff), highlight=False)
    if not diff:
        return
    shown = None if full else limit
    print_table(out, "summary", SUMMARY_COLUMNS, summary_rows(diff))
    if diff.settings:
        rows = [[s.jurisdiction, s.setting, s.old or "—", s.new or "—"] for s in diff.settings]
        _capped(out, "setting changes", ["jurisdiction", "setting", "old", "new"], rows, shown)
    if diff.decisions:
        rows = [
            [g.jurisdiction, g.action, g.actors, g.targets, g.old or "—", g.new or "—", str(g.cells)]
            for g in grouped(diff)
        ]
        columns = ["jurisdiction", "action", "actor", "target", "old", "new", "cells"]
        _capped(out, "decision changes", columns, rows, shown)


def _capped(out: Console, title: str, columns: list[str], rows: list[list[str]], shown: int | None) -> None:
    if shown is not None and len(rows) > shown:
        title = f"{title} (first {shown} of {len(rows)}: --full for all, or --jurisdiction / --action)"
        rows = rows[:shown]
    out.print()
    print_table(out, title, columns, rows)
