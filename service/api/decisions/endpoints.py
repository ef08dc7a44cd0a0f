"""POST /v1/decisions and /v1/decisions/batch.

These sit on apps' hottest paths (search results, profile views), so the bodies are parsed
straight from bytes by pydantic-core and the answers written with orjson, bypassing FastAPI's
generic body and response-model handling; the models still define the contract and the docs.
The decision latency histogram (and, with tracing on, a span) covers the use case, from the
parsed body to the answer, not parsing or rendering, which the HTTP metrics time.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from service.api.decisions.band_batch import read_band_batch
from service.api.decisions.schemas import BatchOut, BatchRequest, DecisionOut, DecisionRequest
from service.api.deps import Caller, JsonCallerDep
from service.api.json_endpoints import json_payload, parse_body, parse_json, read_body, request_body
from service.api.responses import Errors, raises
from service.flows import decision_batch
from service.flows import decisions as flow
from service.flows.decision_flow import Relationship
from service.flows.errors import DuplicateTargetId, InvalidPartyToken, JurisdictionNotAllowed, TokenWithBand
from service.policy.errors import UnknownAction, UnknownJurisdiction, UnknownParty
from service.store.errors import StoreUnavailable

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])
# Both kinds of decision: a jurisdiction, an action and parties the policy knows, tokens that verify.
DECIDING: Errors = (
    UnknownJurisdiction, JurisdictionNotAllowed, UnknownAction, UnknownParty, InvalidPartyToken,
    StoreUnavailable,
)  # fmt: skip


@router.post("", response_model=DecisionOut, openapi_extra=request_body(DecisionRequest))
@raises(*DECIDING)
async def decide(request: Request, caller: JsonCallerDep) -> Response:
    """May the actor do the action to the target? With the rule, reason and message that decided."""
    body = await parse_body(request, DecisionRequest)
    with caller.svc.metrics.time_decision("single"):
        d = await flow.decide(
            caller.svc.decisions,
            caller.client,
            action=body.action,
            jurisdiction=body.jurisdiction,
            actor=body.actor.party(),
            target=body.target.party(),
            locale=caller.locale,
            country=body.country,
            explain=body.explain,
            relationship=(
                Relationship(body.relationship.type, body.relationship.nonce) if body.relationship else None
            ),
        )
    o = d.outcome
    out: dict[str, Any] = {
        "allowed": o.allowed,
        "effect": "allow" if o.allowed else "deny",
        "rule": o.rule,
        "reason": o.reason,
        "message": d.message,
        "obligations": o.obligations,
        "safety_resources": d.safety_resources,
        "policy_version": d.policy_version,
        "relationship": d.relationship,
    }
    if d.deterrence is not None:
        out["deterrence"] = {"message": d.deterrence.message, "resources": d.deterrence.resources}
    if d.trace is not None:
        out["trace"] = [
            {"rule": s.rule, "matched": s.matched, "why": s.why, "effect": s.effect, "priority": s.priority}
            for s in d.trace
        ]
    return json_payload(out)


@router.post("/batch", response_model=BatchOut, openapi_extra=request_body(BatchRequest))
@raises(*DECIDING, TokenWithBand, DuplicateTargetId)
async def decide_batch(request: Request, caller: JsonCallerDep) -> Response:
    """One actor and action against up to 10,000 targets: the ids it may act on."""
    return json_payload(await batch_answer(caller, await read_body(request)))


async def batch_answer(caller: Caller, raw: bytes, *, fast: bool = True) -> dict[str, Any]:
    """The batch's answer as plain data. A batch of bands is read without a model per target
    (``band_batch``) unless ``fast`` is off; anything else, or anything that reading declines,
    the ordinary way. Both give the same answer (tests/decisions/test_decision_fast_batch.py)."""
    bands = read_band_batch(raw) if fast else None
    if bands is not None:
        head = bands.head
        with caller.svc.metrics.time_decision("batch"):
            d = await decision_batch.decide_band_batch(
                caller.svc.decisions, caller.client, action=head.action, jurisdiction=head.jurisdiction,
                actor=head.actor.party(), ids=bands.ids, bands=bands.bands, levels=bands.levels,
                uppers=bands.uppers, with_reasons=head.reasons,
            )  # fmt: skip
    else:
        body = parse_json(raw, BatchRequest)
        with caller.svc.metrics.time_decision("batch"):
            d = await decision_batch.decide_batch(
                caller.svc.decisions, caller.client, action=body.action, jurisdiction=body.jurisdiction,
                actor=body.actor.party(), targets=body.targets, with_reasons=body.reasons,
            )  # fmt: skip
    out: dict[str, Any] = {"allowed": d.allowed_ids, "denied": d.denied, "policy_version": d.policy_version}
    if d.reasons is not None:
        policy = caller.svc.policy.current
        rendered: dict[int, dict[str, Any]] = {}  # one rendering per distinct outcome, not per target
        for o in d.reasons.values():
            if id(o) not in rendered:
                message = policy.text(o.message, caller.locale)
                rendered[id(o)] = {
                    "allowed": o.allowed,
                    "rule": o.rule,
                    "reason": o.reason,
                    "message": message,
                }
        out["reasons"] = {tid: rendered[id(o)] for tid, o in d.reasons.items()}
    return out
