"""The fast reading of a batch of bands answers exactly as the ordinary reading does.

``batch_answer(..., fast=False)`` reads every body with ``BatchRequest`` and decides with
``decide_batch``; with ``fast=True`` a batch of bands goes through ``read_band_batch`` and
``decide_band_batch``. Hypothesis writes bodies, valid ones and every way of breaking one
(unknown fields, names outside the pattern, wrong types, empty or long ids, repeated ids,
tokens, parties the policy lacks, a bad head), and both must give the same answer or the same
error, field by field, and the same audit event.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from factories import running
from fastapi.exceptions import RequestValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.api.decisions.band_batch import read_band_batch
from service.api.decisions.endpoints import batch_answer
from service.api.deps import Caller
from service.app import DEMO_CLIENT_KEY
from service.core.errors import AgebandError

pytestmark = pytest.mark.anyio

BANDS = ["under_13", "13_15", "16_17", "18_plus"]
LEVELS = ["basic", "effective", "highly_effective", "strict"]
ACTIONS = ["profile.view", "search.include", "message.send"]
BAD_NAMES: list[Any] = ["secret band", "x" * 65, "", "-lead", 3, True, ["18_plus"], {"b": 1}, 1.5]


@dataclass
class Ctx:
    caller: Caller
    actor_token: str
    logs: Any


@pytest.fixture
async def ctx() -> AsyncIterator[Ctx]:
    async with running() as run:
        _, token = await run.adult_token("actor-1")
        client = run.services.clients.authenticate(f"Bearer {DEMO_CLIENT_KEY}")
        yield Ctx(Caller(run.services, client, None), token, run)


def _names(valid: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(valid), st.none(), st.sampled_from(BAD_NAMES))


@st.composite
def _target(draw: st.DrawFn, n: int) -> dict[str, Any]:
    ids = st.one_of(
        st.just(f"t-{n}"),
        st.text(min_size=0, max_size=130),
        st.sampled_from(["dup", "x" * 128, "x" * 129, 7, None]),
    )
    t: dict[str, Any] = {}
    if draw(st.integers(0, 30)):
        t["id"] = draw(ids) if draw(st.integers(0, 5)) == 0 else f"t-{n}"
    for field, valid in (("band", BANDS), ("level", LEVELS), ("upper_level", LEVELS)):
        if draw(st.integers(0, 2)) == 0:
            t[field] = draw(_names(valid)) if draw(st.integers(0, 6)) == 0 else draw(st.sampled_from(valid))
    if draw(st.integers(0, 40)) == 0:
        t[draw(st.sampled_from(["token", "extra", "Band"]))] = "x"
    return t


@st.composite
def bodies(draw: st.DrawFn, valid_only: bool = False) -> dict[str, Any]:
    count = draw(st.integers(0, 40))
    if valid_only:
        targets = [
            {"id": f"t-{i}", "band": draw(st.sampled_from(BANDS))}
            | ({"level": draw(st.sampled_from(LEVELS))} if draw(st.booleans()) else {})
            for i in range(count)
        ]
    else:
        targets = [draw(_target(i)) for i in range(count)]
    body: dict[str, Any] = {
        "action": draw(st.sampled_from(ACTIONS)),
        "jurisdiction": draw(st.sampled_from(["default", "GB"])),
        "targets": targets,
    }
    if draw(st.booleans()):
        body["actor"] = {"band": draw(st.sampled_from(BANDS))} | (
            {"level": draw(st.sampled_from(LEVELS))} if draw(st.booleans()) else {}
        )
    if draw(st.booleans()):
        body["reasons"] = draw(st.booleans())
    if not valid_only and draw(st.integers(0, 8)) == 0:
        broken = draw(st.sampled_from(["action", "jurisdiction", "actor", "reasons", "targets", "extra"]))
        bad = [None, 5, "no.such", "", "yes", {"band": "nope"}, ["a"], "x" * 40]
        body[broken] = draw(st.sampled_from(bad))
    return body


async def _outcome(caller: Caller, raw: bytes, *, fast: bool) -> tuple[Any, ...]:
    try:
        return ("answer", await batch_answer(caller, raw, fast=fast))
    except RequestValidationError as exc:
        return ("invalid", exc.errors())
    except AgebandError as exc:
        return (type(exc).__name__, exc.detail, dict(exc.extra))


# Differ between any two events: when it was written, and its place in the hash chain.
VOLATILE = frozenset({"timestamp", "chain", "seq", "prev", "hash"})


def _last_decision(ctx: Ctx) -> dict[str, Any] | None:
    events = [e for e in ctx.logs.log_lines() if e.get("event") == "decision.made"]
    return {k: v for k, v in events[-1].items() if k not in VOLATILE} if events else None


async def _same(
    ctx: Ctx, body: Any, *, actor_token: bool = False, indent: int | None = None
) -> tuple[Any, ...]:
    if actor_token and isinstance(body, dict):
        body = {**body, "actor": {"token": ctx.actor_token}}
    raw = json.dumps(body, indent=indent).encode()
    before = len(ctx.logs.log_lines())
    ordinary = await _outcome(ctx.caller, raw, fast=False)
    event_ordinary = _last_decision(ctx) if len(ctx.logs.log_lines()) > before else None
    before = len(ctx.logs.log_lines())
    fast = await _outcome(ctx.caller, raw, fast=True)
    event_fast = _last_decision(ctx) if len(ctx.logs.log_lines()) > before else None
    assert fast == ordinary, (body, fast, ordinary)
    assert event_fast == event_ordinary
    return fast


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(body=bodies(), actor_token=st.booleans(), indent=st.sampled_from([None, 1]))
async def test_any_batch_gets_the_same_answer_or_error_either_way(
    ctx: Ctx, body: dict[str, Any], actor_token: bool, indent: int | None
) -> None:
    await _same(ctx, body, actor_token=actor_token, indent=indent)


@SETTINGS
@given(body=bodies(valid_only=True), actor_token=st.booleans())
async def test_a_batch_of_bands_takes_the_fast_reading_and_gets_the_ordinary_answer(
    ctx: Ctx, body: dict[str, Any], actor_token: bool
) -> None:
    outcome = await _same(ctx, body, actor_token=actor_token)
    assert outcome[0] == "answer"
    raw = json.dumps(body).encode()
    assert read_band_batch(raw) is not None  # the fast reading took it (else this proves little)


@pytest.mark.parametrize(
    "raw",
    [b"", b"[]", b"null", b'{"targets": 5}', b"{", b'{"action": "profile.view"}', b"\xff", b'{"a":NaN}'],
)
async def test_bodies_that_are_no_batch_get_the_same_problem_either_way(ctx: Ctx, raw: bytes) -> None:
    assert read_band_batch(raw) is None
    assert await _outcome(ctx.caller, raw, fast=True) == await _outcome(ctx.caller, raw, fast=False)


async def test_unknown_party_and_duplicate_ids_name_the_same_places_either_way(ctx: Ctx) -> None:
    head = {"action": "profile.view", "jurisdiction": "default"}
    unknown = {**head, "targets": [{"id": "a", "band": "18_plus"}, {"id": "b", "band": "nope"}]}
    assert (await _same(ctx, unknown))[0] == "UnknownParty"
    dup = {**head, "targets": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}
    outcome = await _same(ctx, dup)
    assert outcome[0] == "DuplicateTargetId"
    assert outcome[2] == {"target": 2, "same_as": 0}
