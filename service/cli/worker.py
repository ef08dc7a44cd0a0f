"""``ageband worker``: webhook delivery and lifecycle timers, run beside the HTTP service.

Run as many as you like: a consumer group hands each event to one of them. Each needs a
distinct ``--consumer`` name that stays the same across its restarts (e.g. the pod name), so a
restarted worker picks up its own unsettled deliveries too.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from typing import Annotated

import typer
from rich.console import Console

from service.settings import Settings

err = Console(stderr=True, soft_wrap=True)


def worker(
    consumer: Annotated[
        str | None, typer.Option(help="This worker's name in the consumer group (default: host-pid).")
    ] = None,
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Events read per round.")] = 16,
    timeout: Annotated[float, typer.Option(min=0.1, max=60, help="Seconds one delivery may take.")] = 10.0,
    claim_idle_ms: Annotated[
        int, typer.Option(min=200, help="Take over another worker's delivery after this long.")
    ] = 60_000,
    max_attempts: Annotated[int, typer.Option(min=1, max=50, help="Attempts before dead-lettering.")] = 8,
    backoff: Annotated[float, typer.Option(min=0.01, help="First retry delay, seconds.")] = 5.0,
    timers_every: Annotated[float, typer.Option(min=0.1, help="Seconds between timer scans.")] = 60.0,
) -> None:
    """Deliver webhooks (Standard Webhooks signatures) and run age-ups and re-check notices."""
    from service.app import build_services, configure_audit, warn_of_generated_keys
    from service.flows.worker import WorkerConfig, run

    settings = Settings()
    if settings.store.backend != "redis":
        err.print("[red]the worker needs AGEBAND_STORE__BACKEND=redis (the memory store is per process)[/]")
        raise typer.Exit(2)
    try:
        cfg = WorkerConfig(
            consumer=consumer or f"{socket.gethostname()}-{os.getpid()}",
            batch=batch,
            timeout_s=timeout,
            claim_idle_ms=claim_idle_ms,
            max_attempts=max_attempts,
            backoff_base_s=backoff,
            timers_every_s=timers_every,
        )
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None

    # The worker's audit events (deliveries, age-ups, re-check notices) pass the same PII guard
    # and join a hash chain of their own, like the service's.
    stream = configure_audit(settings)

    async def main() -> None:
        services = build_services(settings)
        stream.subjects.use(services.removal.subject_refs)  # sids are logged as sid_hash
        warn_of_generated_keys(settings, stream)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)  # finish the delivery in hand, then stop
        # From here a SIGTERM is a clean stop: supervisors (and tests) may wait for this line.
        services.audit.emit("worker.started", consumer=cfg.consumer)
        try:
            await run(services.worker, cfg, stop)
        finally:
            stream.subjects.use(None)
            await services.store.close()
            stream.close()  # the shutdown checkpoint

    asyncio.run(main())
