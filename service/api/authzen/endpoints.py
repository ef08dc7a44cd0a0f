"""OpenID AuthZEN Authorization API 1.0 over ageband's decisions (``POST /v1/decisions``).

Same use case, same answers: an evaluation is ``flow.decide``, a resource search is
``decision_batch.decide_batch``. The decision's rule, reason, message, obligations and safety
resources go in the response ``context``. A request that cannot be decided is a problem document,
as on every route; inside ``/access/v1/evaluations`` it is that evaluation's ``decision: false``
with an ``error`` in its context, so one bad evaluation does not sink the others (a 503, such as
the store being down, still fails the whole request: it is the service's, and worth a retry).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from service.api.authzen.schemas import (
    AuthzenConfiguration,
    Context,
    EvaluationItem,
    EvaluationRequest,
    EvaluationResponse,
    EvaluationsRequest,
    EvaluationsResponse,
    ResourceSearchRequest,
    ResourceSearchResponse,
)
from service.api.decisions.endpoints import DECIDING
from service.api.deps import JsonCallerDep, ServicesDep
from service.api.errors import MissingEvaluationPart
from service.api.json_endpoints import json_payload, parse_body, request_body
from service.api.responses import raises
from service.core.errors import AgebandError
from service.flows import decision_batch
from service.flows import decisions as flow
from service.flows.decision_flow import Decision, PartyIn
from service.flows.errors import DuplicateTargetId, TokenWithBand

router = APIRouter(tags=["authzen"])
wellknown_router = APIRouter(tags=["authzen"])
EVALUATION = "/access/v1/evaluation"
EVALUATIONS = "/access/v1/evaluations"
SEARCH_RESOURCE = "/access/v1/search/resource"
_CONTEXT = Context()


def _context(d: Decision) -> dict[str, Any]:
    o = d.outcome
    return {
        "rule": o.rule, "reason": o.reason, "message": d.message, "obligations": list(o.obligations),
        "safety_resources": [dict(r) for r in d.safety_resources], "policy_version": d.policy_version,
        # as /v1/decisions words it: what to show an adult refused on the way to a minor
        "deterrence": None if d.deterrence is None else {
            "message": d.deterrence.message, "resources": d.deterrence.resources,
        },
    }  # fmt: skip


async def _evaluate(caller: JsonCallerDep, e: EvaluationRequest | EvaluationItem) -> dict[str, Any]:
    if e.subject is None or e.action is None or e.resource is None:
        raise MissingEvaluationPart("an evaluation needs a subject, an action and a resource")
    ctx = e.context or _CONTEXT
    d = await flow.decide(
        caller.svc.decisions,
        caller.client,
        action=e.action.name,
        jurisdiction=ctx.jurisdiction,
        actor=e.subject.properties.party() if e.subject.properties else PartyIn(),
        target=e.resource.properties.party() if e.resource.properties else PartyIn(),
        locale=caller.locale,
        country=ctx.country,
    )
    return {"decision": d.allowed, "context": _context(d)}


def _question(body: EvaluationsRequest, item: EvaluationItem) -> flow.Question | MissingEvaluationPart:
    """An evaluation, its missing members taken from the request's top level."""
    subject, action = item.subject or body.subject, item.action or body.action
    resource, ctx = item.resource or body.resource, item.context or body.context or _CONTEXT
    if subject is None or action is None or resource is None:
        return MissingEvaluationPart("an evaluation needs a subject, an action and a resource")
    return flow.Question(
        action=action.name,
        jurisdiction=ctx.jurisdiction,
        actor=subject.properties.party() if subject.properties else PartyIn(),
        target=resource.properties.party() if resource.properties else PartyIn(),
        country=ctx.country,
    )


def _result(answer: Decision | AgebandError) -> dict[str, Any]:
    if isinstance(answer, AgebandError):
        error = {"status": answer.status, "code": answer.code, "message": answer.detail}
        return {"decision": False, "context": {"error": error}}
    return {"decision": answer.allowed, "context": _context(answer)}


def _stops(semantic: str, answer: Decision | AgebandError) -> bool:
    allowed = not isinstance(answer, AgebandError) and answer.allowed
    return (semantic == "deny_on_first_deny" and not allowed) or (
        semantic == "permit_on_first_permit" and allowed
    )


def _echo(request: Request, response: Response) -> Response:
    """AuthZEN: a PDP echoes the caller's X-Request-ID."""
    rid = request.headers.get("x-request-id")
    if rid is not None and 0 < len(rid) <= 128 and rid.isprintable():
        response.headers["X-Request-ID"] = rid
    return response


@router.post(EVALUATION, response_model=EvaluationResponse, openapi_extra=request_body(EvaluationRequest))
@raises(*DECIDING)
async def access_evaluation(request: Request, caller: JsonCallerDep) -> Response:
    """AuthZEN Access Evaluation: may the subject (actor) do the action to the resource (target)?"""
    body = await parse_body(request, EvaluationRequest)
    with caller.svc.metrics.time_decision("single"):
        out = await _evaluate(caller, body)
    return _echo(request, json_payload(out))


# Without evaluations the request is one evaluation, answered as /access/v1/evaluation answers.
@router.post(
    EVALUATIONS,
    response_model=EvaluationsResponse | EvaluationResponse,
    openapi_extra=request_body(EvaluationsRequest),
)
@raises(*DECIDING, MissingEvaluationPart)
async def access_evaluations(request: Request, caller: JsonCallerDep) -> Response:
    """AuthZEN Access Evaluations: many evaluations, the top-level members their defaults;
    ``options.evaluations_semantic`` may stop at the first deny or the first permit. Without
    ``evaluations`` it is one evaluation, answered as ``/access/v1/evaluation`` answers."""
    body = await parse_body(request, EvaluationsRequest)
    if not body.evaluations:
        single = EvaluationItem(
            subject=body.subject, action=body.action, resource=body.resource, context=body.context
        )
        with caller.svc.metrics.time_decision("single"):
            return _echo(request, json_payload(await _evaluate(caller, single)))
    semantic = body.options.evaluations_semantic if body.options else "execute_all"
    questions = [_question(body, item) for item in body.evaluations]
    svc, client, locale = caller.svc.decisions, caller.client, caller.locale
    answers: list[Decision | AgebandError] = []
    with caller.svc.metrics.time_decision("batch"):
        if semantic == "execute_all":  # all at once: table lookups, one audit event
            asked = [q for q in questions if isinstance(q, flow.Question)]
            decided = iter(await flow.decide_many(svc, client, asked, locale=locale))
            answers = [q if isinstance(q, MissingEvaluationPart) else next(decided) for q in questions]
        else:  # one at a time, up to where the semantic stops
            for question in questions:
                if isinstance(question, MissingEvaluationPart):
                    answers.append(question)
                else:
                    answers += await flow.decide_many(svc, client, [question], locale=locale)
                if _stops(semantic, answers[-1]):
                    break
    results = [_result(answer) for answer in answers]
    return _echo(request, json_payload({"evaluations": results}))


@router.post(
    SEARCH_RESOURCE, response_model=ResourceSearchResponse, openapi_extra=request_body(ResourceSearchRequest)
)
@raises(*DECIDING, TokenWithBand, DuplicateTargetId)
async def search_resource(request: Request, caller: JsonCallerDep) -> Response:
    """AuthZEN Resource Search: which of these accounts (``resource.properties.candidates``) may the
    subject do the action to? All results in one page."""
    body = await parse_body(request, ResourceSearchRequest)
    ctx = body.context or _CONTEXT
    with caller.svc.metrics.time_decision("batch"):
        d = await decision_batch.decide_batch(
            caller.svc.decisions,
            caller.client,
            action=body.action.name,
            jurisdiction=ctx.jurisdiction,
            actor=body.subject.properties.party() if body.subject.properties else PartyIn(),
            targets=body.resource.properties.candidates,
        )
    kind = body.resource.type
    out = {"results": [{"type": kind, "id": i} for i in d.allowed_ids], "page": {"next_token": ""}}
    return _echo(request, json_payload(out))


@wellknown_router.get("/.well-known/authzen-configuration")
async def authzen_configuration(
    request: Request, svc: ServicesDep, response: Response
) -> AuthzenConfiguration:
    """AuthZEN PDP metadata: the endpoints, as absolute URLs under AGEBAND_HTTP__PUBLIC_URL (or,
    unset, the URL this request came to)."""
    base = (svc.public_url or str(request.base_url)).rstrip("/")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return AuthzenConfiguration(
        policy_decision_point=base,
        access_evaluation_endpoint=base + EVALUATION,
        access_evaluations_endpoint=base + EVALUATIONS,
        search_resource_endpoint=base + SEARCH_RESOURCE,
    )
