"""The ``ageband worker`` loop: deliver webhooks from the event stream and run lifecycle timers.

Delivery is at least once, with idempotent event ids (the ``webhook-id``): an entry is read by
one consumer of the group, and settled (acked) only after the app answered 2xx, after a retry
was queued, or after it was dead-lettered. A worker killed mid-delivery leaves its entry pending;
another worker (or the same one restarted) claims it once it has idled for ``claim_idle_ms``,
which is longer than a delivery may take, so two workers never deliver one event at once.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import timedelta

import httpx

from service.audit.events import Audit
from service.clients.registry import ClientRegistry
from service.core.clock import Clock, SystemClock
from service.core.dates import day_of
from service.flows import lifecycle, recheck_requests
from service.flows.events import EVENT_TTL
from service.flows.lifecycle import Lifecycle
from service.flows.recheck_requests import RecheckRequests
from service.policy.holder import PolicyHolder
from service.store.errors import StoreUnavailable
from service.store.events import Delivery
from service.store.roles import EventStream, RecordStore, TimerStore
from service.webhooks.delivery import deliver


@dataclass(frozen=True, slots=True)
class WorkerFlow:
    """What the worker touches: the event stream and the clients' webhooks, and each client's
    timers with the records they name."""

    clients: ClientRegistry
    policy: PolicyHolder  # the retention: the timers' TTL
    clock: Clock
    audit: Audit
    events: EventStream
    timers: TimerStore
    records: RecordStore
    lifecycle: Lifecycle
    requests: RecheckRequests  # a re-check the app demanded: its deadline is a timer too


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    consumer: str
    group: str = "webhooks"
    batch: int = 16
    block_ms: int = 1000
    timeout_s: float = 10.0  # one delivery; must stay well below claim_idle_ms
    claim_idle_ms: int = 60_000
    max_attempts: int = 8
    backoff_base_s: float = 5.0
    backoff_max_s: float = 6 * 3600.0
    timers_every_s: float = 60.0
    timers_batch: int = 500

    def __post_init__(self) -> None:
        if self.claim_idle_ms < 2 * self.timeout_s * 1000:
            raise ValueError("claim_idle_ms must be at least twice the delivery timeout")

    def backoff_ms(self, attempt: int) -> int:
        """Exponential, capped, with up to 10% jitter so retries of one outage spread out."""
        delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, attempt - 1))
        return int(delay * 1000 * (1 + secrets.randbelow(100) / 1000))


async def deliver_once(
    svc: WorkerFlow,
    http: httpx.AsyncClient,
    cfg: WorkerConfig,
    wall: Clock | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """One round: release due retries, claim stale entries, read new ones, deliver them."""
    wall = wall or SystemClock()  # signatures carry real time: receivers check it
    await svc.events.release_retries(int(wall.now().timestamp() * 1000), 100)
    deliveries = await svc.events.claim_stale(cfg.group, cfg.consumer, cfg.claim_idle_ms, cfg.batch)
    if not deliveries:
        deliveries = await svc.events.read_events(cfg.group, cfg.consumer, cfg.batch, cfg.block_ms)
    return await _deliver_all(svc, http, cfg, deliveries, wall, stop)


async def _deliver_all(
    svc: WorkerFlow,
    http: httpx.AsyncClient,
    cfg: WorkerConfig,
    deliveries: list[Delivery],
    wall: Clock,
    stop: asyncio.Event | None,
) -> int:
    """Deliver in order; once told to stop, hand the rest back to the group for others to take
    at once (they stay pending, so a crash during the hand-back loses nothing either)."""
    for i, d in enumerate(deliveries):
        if stop is not None and stop.is_set():
            rest = [x.entry_id for x in deliveries[i:]]
            await svc.events.hand_back(cfg.group, cfg.consumer, rest, cfg.claim_idle_ms)
            svc.audit.emit("worker.handed_back", consumer=cfg.consumer, count=len(rest))
            return i
        await _deliver(svc, http, cfg, d, wall)
    return len(deliveries)


async def _deliver(
    svc: WorkerFlow, http: httpx.AsyncClient, cfg: WorkerConfig, d: Delivery, wall: Clock
) -> None:
    event = d.event
    ctx = {"client": event.client_id, "event_id": event.event_id, "event_type": event.type}
    client = svc.clients.get(event.client_id)
    if client is None or client.webhook is None:
        # The client or its webhook left the configuration: keep the event for operators.
        await svc.events.dead_letter(cfg.group, d.entry_id, event, EVENT_TTL)
        svc.audit.emit("webhook.dead_lettered", reason="no_webhook", attempt=event.attempt, **ctx)
        return
    result = await deliver(
        http,
        client.webhook.url,
        client.webhook.secret.get_secret_value(),
        event.event_id,
        event.body,
        wall.now(),
    )
    attempt = event.attempt + 1
    if result.delivered:
        await svc.events.ack_event(cfg.group, d.entry_id)
        svc.audit.emit(
            "webhook.delivered", attempt=attempt, http_status=result.status, redelivered=d.redelivered, **ctx
        )
        return
    failed = type(event)(event.event_id, event.client_id, event.type, event.body, attempt)
    if result.retry and attempt < cfg.max_attempts:
        at = int(wall.now().timestamp() * 1000) + cfg.backoff_ms(attempt)
        await svc.events.retry_event(cfg.group, d.entry_id, failed, at, EVENT_TTL)
        svc.audit.emit("webhook.retry", attempt=attempt, http_status=result.status, **ctx)
    else:
        await svc.events.dead_letter(cfg.group, d.entry_id, failed, EVENT_TTL)
        svc.audit.emit(
            "webhook.dead_lettered", reason="failed", attempt=attempt, http_status=result.status, **ctx
        )


async def run_timers(svc: WorkerFlow, limit: int = 500) -> int:
    """Age-ups, re-check notices and missed re-check deadlines for every timer due today or
    earlier; returns how many ran."""
    today = day_of(svc.clock.now())
    done = 0
    for client_id in svc.clients.client_ids:
        for sid, _ in await svc.timers.timers_due(client_id, today + timedelta(days=1), limit):
            record = await svc.records.get_record(sid)
            if record is None or record.client_id != client_id:
                await svc.timers.unschedule(client_id, sid)
                continue
            record = await lifecycle.age_up(svc.lifecycle, record)  # notifies subject.band_changed
            if record.recheck_at <= today:
                await lifecycle.recheck_due(svc.lifecycle, record)  # once per re-check date
            nxt = lifecycle.next_step(record, today)
            # A demanded re-check's deadline: sanctioned once passed; until then its day is a step
            # (today's stays due, so the next scan after the deadline's hour enforces it).
            deadline = await recheck_requests.enforce_deadline(svc.requests, record)
            if deadline is not None:
                nxt = deadline if nxt is None else min(nxt, deadline)
            if nxt is None:
                await svc.timers.unschedule(client_id, sid)
            else:
                await svc.timers.schedule(
                    client_id, sid, nxt, int(svc.policy.current.retention.total_seconds())
                )
            done += 1
    return done


async def run(svc: WorkerFlow, cfg: WorkerConfig, stop: asyncio.Event) -> None:
    """Loop until ``stop`` is set. Store outages are waited out, never fatal."""
    loop = asyncio.get_running_loop()
    next_timers = 0.0
    await svc.events.ensure_group(cfg.group)
    async with httpx.AsyncClient(timeout=cfg.timeout_s) as http:
        # What this consumer had in hand when it last stopped (or was killed) goes first.
        while not stop.is_set() and (
            own := await svc.events.read_own_pending(cfg.group, cfg.consumer, cfg.batch)
        ):
            await _deliver_all(svc, http, cfg, own, SystemClock(), stop)
        while not stop.is_set():
            try:
                if loop.time() >= next_timers:
                    await run_timers(svc, cfg.timers_batch)
                    next_timers = loop.time() + cfg.timers_every_s
                await deliver_once(svc, http, cfg, stop=stop)
            except StoreUnavailable:
                svc.audit.emit("worker.store_unavailable", consumer=cfg.consumer)
                await asyncio.sleep(1.0)
