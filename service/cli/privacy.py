"""``ageband privacy``: the data inventory, the audit-log report and the store scan.

Every command that checks something exits 1 when it finds a violation, so CI jobs and
scheduled audits can run it; 2 means it could not run (a missing file, no Redis). ``report`` and
``scan-store`` show progress on stderr when it is a terminal, and nothing otherwise.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from service.audit.checkpoint_keys import CheckpointKeyError, load_public_keys
from service.cli.progress import progress
from service.cli.tables import add_text_row, fitting_table
from service.privacy.html import render_html
from service.privacy.inventory import inventory_document
from service.privacy.report import DEFAULT_EVIDENCE_BOUND_MS, Report, ReportOptions, build_report
from service.privacy.scan import StoreScan, scan_store

privacy_app = typer.Typer(
    help="For privacy reviewers: inventory, audit report, store scan.", no_args_is_help=True
)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
_SHOWN = 50  # issues printed in the terminal summary; --json and --html have them all


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@privacy_app.command("inventory")
def inventory_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Every stored field, generated from the code: key class, purpose, retention, personal or not."""
    doc = inventory_document()
    if as_json:
        _print_json(doc)
        return
    table = fitting_table(
        ("key class", "field", "type", "personal", "purpose", "retention"), "ageband data inventory"
    )
    for kc in doc["key_classes"]:
        rows = [("(key name) " + p["name"], p) for p in kc["key_name_parts"]]
        rows += [(f["name"], f) for f in kc["fields"]]
        if not kc["fields_enumerated"]:
            rows.append(
                ("(value)", {"type": kc["encoding"], "personal": kc["personal"], "purpose": kc["note"]})
            )
        for i, (name, f) in enumerate(rows):
            first = i == 0
            personal = "yes" if f["personal"] else "no"
            add_text_row(
                table,
                [kc["key_class"] if first else "", name, str(f["type"]), personal, str(f["purpose"]),
                 kc["retention"] if first else ""],
            )  # fmt: skip
    out.print(table)
    out.print(doc["personal_data_rule"], highlight=False)


@privacy_app.command("report")
def report_cmd(
    logs: Annotated[list[Path], typer.Argument(help="JSONL logs in order (rotated parts oldest first).")],
    as_json: Annotated[bool, typer.Option("--json", help="The whole report as JSON on stdout.")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report.")
    ] = None,
    checkpoints: Annotated[
        list[Path] | None,
        typer.Option("--checkpoints", help="Checkpoint file(s) kept apart from the log: reveals truncation."),
    ] = None,
    evidence_bound_ms: Annotated[
        float, typer.Option(help="Longest time evidence may be held (received to discarded).")
    ] = DEFAULT_EVIDENCE_BOUND_MS,
    checkpoint_key: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint-key",
            help="The published checkpoint keys (the JSON of /.well-known/audit-keys.json, or a PEM "
            "public key): every checkpoint must be signed by one.",
        ),
    ] = None,
    erased: Annotated[
        list[str] | None,
        typer.Option(
            "--erased",
            help="An erasure reference (ageband privacy erasure-ref SID): check that the erasure is in "
            "the trail and that nothing in the log ties to the subject.",
        ),
    ] = None,
) -> None:
    """Verify the audit chain, rebuild each check's lifecycle, and report violations and statistics."""
    missing = [p for p in [*logs, *(checkpoints or []), *(checkpoint_key or [])] if not p.is_file()]
    if missing:
        err.print(f"[red]no such file[/]: {', '.join(map(str, missing))}", highlight=False)
        raise typer.Exit(2)
    keys = None
    if checkpoint_key:
        try:
            keys = {kid: k for path in checkpoint_key for kid, k in load_public_keys(path).items()}
        except CheckpointKeyError as exc:
            err.print(f"[red]{escape(str(exc))}[/]", highlight=False)
            raise typer.Exit(2) from None
    options = ReportOptions(evidence_bound_ms, tuple(checkpoints or ()), tuple(erased or ()), keys)
    with progress("reading the log", total_bytes=sum(p.stat().st_size for p in logs)) as advance:
        report = build_report(logs, options, on_read=advance)
    if html is not None:
        html.write_text(render_html(report), encoding="utf-8")
    if as_json:
        _print_json(report.as_dict())
    else:
        _summary(report, html)
    if report.violations:
        raise typer.Exit(1)


def _summary(report: Report, html: Path | None) -> None:
    data = report.as_dict()
    stats = data["statistics"]
    life = stats["evidence_lifetime"]
    out.print(
        f"{data['lines']} lines, {data['audit_events']} audit events, {len(data['chains'])} chain(s), "
        f"{stats['checks']} check(s)",
        highlight=False,
    )
    for c in data["chains"]:
        state = "closed" if c["closed"] else "open"
        out.print(
            f"  chain {c['chain']}: seq {c['first_seq']}..{c['last_seq']}, "
            f"{c['checkpoints']} checkpoint(s)"
            + ("" if c["signed_checkpoints"] is None else f", {c['signed_checkpoints']} signed")
            + f", {state}",
            highlight=False,
        )
    out.print("checks by method and outcome:", highlight=False)
    for method, outcomes in stats["checks_by_method_and_outcome"].items():
        out.print(f"  {method}: " + ", ".join(f"{o} {n}" for o, n in outcomes.items()), highlight=False)
    out.print(
        f"evidence lifetime: {life['count']} span(s), p50 {life['p50_ms']} ms, max {life['max_ms']} ms "
        f"(bound {life['bound_ms']} ms)",
        highlight=False,
    )
    for label, issues in (("warning", data["warnings"]), ("violation", data["violations"])):
        for i in issues[:_SHOWN]:
            at = " ".join(x for x in (i["where"], i["check_id"] or "") if x)
            colour = "yellow" if label == "warning" else "red"
            out.print(f"[{colour}]{label}[/] {i['kind']}: {i['detail']} {at}".rstrip(), highlight=False)
        if len(issues) > _SHOWN:
            out.print(f"... and {len(issues) - _SHOWN} more {label}s (see --json or --html)")
    if html is not None:
        out.print(f"wrote {html}", highlight=False)
    if report.violations:
        out.print(f"[bold red]{len(report.violations)} violation(s)[/]")
    else:
        out.print("[bold green]no violations[/]")


@privacy_app.command("scan-store")
def scan_store_cmd(
    redis_url: Annotated[
        str | None, typer.Option(help="Redis URL (default: AGEBAND_STORE__REDIS_URL).", show_default=False)
    ] = None,
    prefix: Annotated[
        str | None, typer.Option(help="Key prefix (default: AGEBAND_STORE__PREFIX).", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a summary.")] = False,
) -> None:
    """Scan a live Redis: key classes, counts, TTLs, keys without TTL, values matching PII detectors."""
    from redis import exceptions as rx
    from redis.asyncio import Redis

    from service.settings import Settings

    if redis_url is None or prefix is None:
        store = Settings().store
        redis_url = redis_url or store.redis_url.get_secret_value()
        prefix = prefix or store.prefix

    async def run() -> StoreScan:
        client = Redis.from_url(redis_url, socket_connect_timeout=5)
        try:
            with progress(f"keys scanned under {prefix}:") as advance:
                return await scan_store(client, prefix, on_key=advance)
        finally:
            await client.aclose()

    try:
        result = asyncio.run(run())
    except (rx.ConnectionError, rx.TimeoutError) as exc:
        err.print(f"[red]cannot reach Redis[/] ({type(exc).__name__})")
        raise typer.Exit(2) from None
    if as_json:
        _print_json(result.as_dict())
    else:
        columns = ("key class", "keys", "without TTL", "TTL min (s)", "TTL p50 (s)", "TTL max (s)")
        table = fitting_table(columns, f"keys under {prefix}:")
        for c in result.classes:
            stats = (c.keys, c.without_ttl, c.ttl_min, c.ttl_p50, c.ttl_max)
            add_text_row(table, [c.key_class, *map(str, stats)])
        out.print(table)
        for v in result.violations[:_SHOWN]:
            line = escape(f"{v.kind} ({v.key_class}) {v.key}: {v.detail}")
            out.print(f"[red]violation[/] {line}", highlight=False)
        out.print(f"{result.keys} key(s), {len(result.violations)} violation(s)", highlight=False)
    if result.violations:
        raise typer.Exit(1)


@privacy_app.command("erasure-ref")
def erasure_ref_cmd(sid: Annotated[str, typer.Argument(help="The sid whose erasure to look up.")]) -> None:
    """The keyed hash under which a sid's erasure is audited (needs AGEBAND_PEPPER)."""
    from service.audit.events import sid_ref
    from service.settings import Settings

    pepper = Settings().pepper
    if pepper is None:
        err.print("[red]AGEBAND_PEPPER is not set[/]: the erasure reference is keyed with it")
        raise typer.Exit(2)
    out.print(sid_ref(pepper.get_secret_value().encode(), sid), highlight=False)
