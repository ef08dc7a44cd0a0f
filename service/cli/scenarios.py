"""Policy scenarios: sequences of checks and decisions through the real check flow.

Each scenario runs on its own in-process service: the memory store, the built-in providers
that need no vendor (``os_signal`` and ``self_declaration``), a development key and the
suite's pinned clock, which ``advance`` steps move on. A subject's party in a decision is its
current token: a fresh refresh when the record gives one, else the token of its last check
(a locked subject cannot refresh), else unknown. Nothing leaves the process.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from service.api.services import Services
from service.app import DEMO_CLIENT_KEY, build_services
from service.audit.chain import AuditChain, AuditStream
from service.audit.logging import configure_logging
from service.clients.registry import Client
from service.core.clock import FixedClock
from service.core.errors import AgebandError
from service.flows import (
    abuse,
    check_evidence,
    checks,
    connections,
    decisions,
    guardians,
    recheck_requests,
    tokens,
)
from service.flows.decision_flow import PartyIn, Relationship
from service.flows.results import EvidenceResult
from service.flows.subjects import SubjectRef
from service.policy.testing import (
    CheckSpec,
    ConnectStep,
    DecideSpec,
    GuardianStep,
    RecheckStep,
    Result,
    Scenario,
    Step,
    Suite,
    load_suite,
)
from service.settings import Settings

_PROVIDERS = ["os_signal", "self_declaration"]


@dataclass
class _Run:
    svc: Services
    client: Client
    clock: FixedClock
    scenario: Scenario
    last_token: dict[str, str] = field(default_factory=dict)
    nonces: dict[frozenset[str | None], str] = field(default_factory=dict)  # a connected pair's nonce


def run_scenarios(path: Path, files: list[Path]) -> list[Result]:
    """Every scenario of every suite file, each on a fresh service."""
    results: list[Result] = []
    for file in files:
        suite = load_suite(file)
        for scenario in suite.scenarios:
            failure = asyncio.run(run_scenario(path, suite, scenario))
            results.append(Result(suite.name, scenario.name, str(file), failure))
    return results


async def run_scenario(path: Path, suite: Suite, scenario: Scenario) -> str | None:
    """None when every step did what it expects, else the first step that did not."""
    now = suite.now if suite.now.tzinfo else suite.now.replace(tzinfo=UTC)
    clock = FixedClock(now)
    # Logs and audit events of the scenario's service go nowhere: the results say what happened.
    configure_logging(sink=io.StringIO(), audit=AuditStream(AuditChain("scenario")))
    settings = Settings(
        policy_path=path,
        pepper="scenario-pepper-" + "0" * 32,
        store={"backend": "memory"},
        providers={"enabled": _PROVIDERS},
        policy_watch=False,
    )
    svc = build_services(settings, clock)
    client = svc.clients.authenticate(f"Bearer {DEMO_CLIENT_KEY}")
    run = _Run(svc, client, clock, scenario)
    try:
        for number, step in enumerate(scenario.steps, 1):
            if step.advance is not None:
                clock.advance(step.advance)
                continue
            miss = await _step(run, step)
            if miss is not None:
                return f"step {number}: {miss}"
    except Exception as exc:  # noqa: BLE001 - a broken scenario reports itself as its failure
        return f"error: {type(exc).__name__}: {exc}"
    finally:
        await svc.store.close()
    return None


async def _step(run: _Run, step: Step) -> str | None:
    if step.check is not None:
        return await _check(run, step.check)
    if step.recheck is not None:
        return await _recheck(run, step.recheck)
    if step.guardian is not None:
        return await _guardian(run, step.guardian)
    if step.connect is not None:
        return await _connect(run, step.connect)
    assert step.decide is not None  # noqa: S101 - a step is exactly one kind
    return await _decide(run, step.decide)


async def _recheck(run: _Run, spec: RecheckStep) -> str | None:
    got: dict[str, Any] = {"error": None}
    deadline = run.clock.now() + spec.within if spec.within is not None else None
    try:
        await recheck_requests.request_recheck(
            run.svc.requests, run.client, SubjectRef(spec.subject), spec.reason, spec.min_level, deadline
        )
    except AgebandError as exc:
        got = {"error": exc.code}
    return _differences(spec.expect, got) if spec.expect is not None else _unexpected(got)


async def _guardian(run: _Run, spec: GuardianStep) -> str | None:
    got: dict[str, Any] = {"error": None}
    try:
        issued = await guardians.issue_code(run.svc.guardians, run.client, SubjectRef(spec.child))
        done = await guardians.confirm(run.svc.guardians, run.client, SubjectRef(spec.guardian), issued.code)
        got["upper_level"] = done.upper_level
    except AgebandError as exc:
        got = {"error": exc.code}
    return _differences(spec.expect, got) if spec.expect is not None else _unexpected(got)


async def _connect(run: _Run, spec: ConnectStep) -> str | None:
    got: dict[str, Any] = {"error": None}
    jurisdiction = run.scenario.jurisdiction
    try:
        a, b = await _token(run, spec.a), await _token(run, spec.b)
        opened = await connections.open_connection(run.svc.connections, run.client, jurisdiction, a or "")
        await connections.confirm_connection(
            run.svc.connections, run.client, jurisdiction, b or "", opened.nonce
        )
        run.nonces[frozenset((spec.a, spec.b))] = opened.nonce
    except AgebandError as exc:
        got = {"error": exc.code}
    return _differences(spec.expect, got) if spec.expect is not None else _unexpected(got)


async def _check(run: _Run, spec: CheckSpec) -> str | None:
    jurisdiction = spec.jurisdiction or run.scenario.jurisdiction
    origin = abuse.origin_of(run.svc.pepper, run.client.id, spec.device, None)
    got: dict[str, Any]
    try:
        started = await checks.start_check(
            run.svc.checks,
            run.client,
            SubjectRef(spec.subject),
            jurisdiction,
            spec.purpose,
            None,
            origin=origin,
        )
        result: EvidenceResult | None = None
        for evidence in spec.evidence:
            method = str(evidence.get("method", ""))
            body = {k: v for k, v in evidence.items() if k != "method"}
            result = await check_evidence.submit_evidence(
                run.svc.checks,
                run.client,
                started.check_id,
                method,
                body,
                len(str(body)),
                None,
                origin=origin,
            )
        assert result is not None  # noqa: S101 - evidence has at least one item
        token = result.token
        if token is not None:
            run.last_token[spec.subject] = token.token
        got = {
            "outcome": result.outcome,
            "reason": result.reason,
            "band": token.band if token else None,
            "level": token.level if token else None,
            "upper_level": token.upper_level if token else None,
            "sanction": result.sanction,
            "error": None,
        }
    except AgebandError as exc:
        got = {"error": exc.code}
    return _differences(spec.expect, got) if spec.expect is not None else _unexpected(got)


async def _decide(run: _Run, spec: DecideSpec) -> str | None:
    jurisdiction = spec.jurisdiction or run.scenario.jurisdiction
    actor = PartyIn(token=await _token(run, spec.actor))
    target = PartyIn(token=await _token(run, spec.target))
    nonce = run.nonces.get(frozenset((spec.actor, spec.target))) if spec.trusted else None
    relationship = Relationship("trusted", nonce or "none-" + "0" * 16) if spec.trusted else None
    for action in spec.actions:
        got: dict[str, Any]
        try:
            d = await decisions.decide(
                run.svc.decisions,
                run.client,
                action=action,
                jurisdiction=jurisdiction,
                actor=actor,
                target=target,
                relationship=relationship,
            )
            o = d.outcome
            got = {
                "effect": "allow" if o.allowed else "deny",
                "rule": o.rule,
                "reason": o.reason,
                "error": None,
            }
        except AgebandError as exc:
            got = {"error": exc.code}
        miss = _differences(spec.expect, got) if spec.expect is not None else _unexpected(got)
        if miss is not None:
            return f"{action}: {miss}"
    return None


async def _token(run: _Run, subject: str | None) -> str | None:
    if subject is None:
        return None
    try:
        issued = await tokens.refresh(run.svc.tokens, run.client, SubjectRef(subject))
    except AgebandError:
        return run.last_token.get(subject)  # locked, voided or due: what the app last held
    run.last_token[subject] = issued.token
    return issued.token


def _differences(expect: Any, got: dict[str, Any]) -> str | None:
    wanted = {k: getattr(expect, k) for k in expect.model_fields_set}
    diffs = [f"{k}: expected {v!r}, got {got.get(k)!r}" for k, v in wanted.items() if got.get(k) != v]
    if "error" not in wanted and got.get("error") is not None:
        diffs.append(f"refused with {got['error']}")
    return "; ".join(diffs) or None


def _unexpected(got: dict[str, Any]) -> str | None:
    return f"refused with {got['error']}" if got.get("error") is not None else None


def scenario_count(files: list[Path]) -> int:
    return sum(len(load_suite(f).scenarios) for f in files)
