"""``ageband``: run the service, manage keys and clients, export the OpenAPI document."""

from __future__ import annotations

import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from service.cli import policy as policy_cli
from service.cli.error_table import error_classes, render_table, with_table
from service.cli.openapi import render_openapi
from service.cli.privacy import privacy_app
from service.cli.worker import worker
from service.cli.workers import shared_development_secrets, worker_refusals
from service.clients.registry import hash_key
from service.policy.loader import load_policy
from service.policy.schema import render_policy_schema
from service.policy.yaml_source import PolicyError
from service.settings import Settings
from service.tokens.keys import KeyState, generate_key, write_key

app = typer.Typer(help="ageband: age assurance without hoarding identity.", no_args_is_help=True)
keys_app = typer.Typer(help="Signing keys.", no_args_is_help=True)
clients_app = typer.Typer(help="Client API keys.", no_args_is_help=True)
policy_app = typer.Typer(help="Policy files.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(clients_app, name="clients")
app.add_typer(policy_app, name="policy")
app.command("worker")(worker)
app.add_typer(privacy_app, name="privacy")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
policy_cli.register(policy_app)  # lint, test, explain, diff


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    dev_clock: Annotated[
        bool, typer.Option("--dev-clock", help="Settable clock for demos: POST /v1/admin/clock.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="Worker processes, e.g. one per core; more than one needs the Redis store."
        ),
    ] = 1,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    from service import serving

    if dev_clock:
        os.environ["AGEBAND_DEV_CLOCK"] = "true"  # read by every worker's own Settings
    settings = Settings()
    try:
        load_policy(settings.policy_path)  # fail fast, with a readable error, before binding
    except PolicyError as exc:
        err.print(f"[bold red]invalid policy[/]\n{exc}", highlight=False)
        raise typer.Exit(2) from None
    # uvicorn drains on SIGTERM (no new connections, requests in flight finish), then re-raises
    # the signal to the handler it found. Ours makes that drained stop a clean exit 0 (and a
    # SIGTERM before uvicorn listens a prompt one).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    options: dict[str, Any] = {
        "host": host or settings.http.host,
        "port": settings.http.port if port is None else port,  # 0: any free port
        "access_log": False,
        "log_level": "warning",
        "server_header": False,
    }
    # serving.run is uvicorn's run that also logs service.listening with the bound address.
    if workers == 1:
        from service.app import create_app

        serving.run(uvicorn.Config(create_app(settings), **options), settings)
        return
    refusals = worker_refusals(settings, workers)
    if refusals:
        for refusal in refusals:
            err.print(f"[bold red]cannot start {workers} workers[/]: {refusal}", highlight=False)
        raise typer.Exit(2)
    with shared_development_secrets(settings) as notes:
        for note in notes:
            err.print(f"[bold yellow]development[/]: {note}", highlight=False)
        # Each worker is a fresh process that builds its own app from the same environment. It
        # must answer the supervisor's first health check within the timeout, after importing
        # the CLI again (spawn): uvicorn's 5 s kill and restart workers forever on a loaded box.
        config = uvicorn.Config(
            "service.app:app_from_environment",
            factory=True,
            workers=workers,
            timeout_worker_healthcheck=60,
            **options,
        )
        serving.run(config, settings)


@app.command()
def openapi(
    output: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
    check: Annotated[bool, typer.Option(help="Exit 1 if --out differs from the generated document.")] = False,
) -> None:
    """Print the OpenAPI document generated from the app."""
    text = render_openapi()
    if output is None:
        sys.stdout.write(text)
        return
    if check:
        if not output.exists() or output.read_text() != text:
            err.print(f"[red]{output} is out of date[/]: run 'ageband openapi --out {output}'")
            raise typer.Exit(1)
        return
    output.write_text(text)
    out.print(f"wrote {output}")


@app.command()
def errors(
    readme: Annotated[
        Path | None,
        typer.Option("--readme", help="Rewrite the error table between its markers in this file."),
    ] = None,
    check: Annotated[
        bool, typer.Option(help="Exit 1 if --readme's table differs from the generated one.")
    ] = False,
) -> None:
    """Print the table of stable problem codes, generated from the error classes."""
    table = render_table(error_classes())
    if readme is None:
        sys.stdout.write(table)
        return
    text = readme.read_text()
    updated = with_table(text, table)
    if check:
        if updated != text:
            err.print(
                f"[red]{readme}'s error table is out of date[/]: run 'ageband errors --readme {readme}'"
            )
            raise typer.Exit(1)
        return
    readme.write_text(updated)
    out.print(f"wrote the error table of {readme}")


@keys_app.command("generate")
def keys_generate(
    output: Annotated[Path, typer.Option("--out", help="Private key file to write (mode 0600).")],
    alg: Annotated[str, typer.Option(help="EdDSA (Ed25519) or ES256 (P-256).")] = "EdDSA",
    fmt: Annotated[str, typer.Option("--format", help="pem or jwk.")] = "pem",
) -> None:
    """Generate a signing key. Publish it as 'next' before making it 'active'."""
    if alg not in ("EdDSA", "ES256") or fmt not in ("pem", "jwk"):
        err.print("[red]--alg must be EdDSA or ES256 and --format pem or jwk[/]")
        raise typer.Exit(2)
    if output.exists():
        err.print(f"[red]{output} exists; refusing to overwrite a key[/]")
        raise typer.Exit(2)
    key = generate_key(alg, state=KeyState.next)
    write_key(key, output, fmt)  # type: ignore[arg-type]  # checked above
    out.print(f"wrote {output} (alg {alg}, kid {key.kid})")


@clients_app.command("new-key")
def clients_new_key() -> None:
    """Make a random API key and the hash to put in the clients file."""
    key = secrets.token_urlsafe(32)
    out.print(f"api key (give to the app, shown once): {key}")
    out.print(f"hash (put in the clients file):       {hash_key(key)}")


@policy_app.command("validate")
def policy_validate(
    path: Annotated[Path, typer.Argument(help="Policy file or directory.")] = Path("policies"),
) -> None:
    """Load a policy as the service would, and report every error in every file with file, line
    and path."""
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        for issue in exc.issues:
            err.print(f"[red]error[/] {issue}", highlight=False)
        files = len({i.file for i in exc.issues})
        err.print(f"{len(exc.issues)} error(s) in {files} file(s)", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"[green]ok[/] version {policy.version}: {', '.join(sorted(policy.jurisdictions))}")


@policy_app.command("schema")
def policy_schema(
    output: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
    check: Annotated[bool, typer.Option(help="Exit 1 if --out differs from the generated schema.")] = False,
) -> None:
    """Print the policy JSON Schema generated from the policy model."""
    text = render_policy_schema()
    if output is None:
        sys.stdout.write(text)
        return
    if check:
        if not output.exists() or output.read_text(encoding="utf-8") != text:
            err.print(f"[red]{output} is out of date[/]: run 'ageband policy schema --out {output}'")
            raise typer.Exit(1)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    out.print(f"wrote {output}")
