"""A third-party provider cannot leak evidence through InvalidEvidence: the flow rebuilds the
error from its structure (code, field paths, error types) and drops every text and extra."""

from __future__ import annotations

import uuid
from importlib.metadata import EntryPoint

import pytest
import redis.asyncio
from factories import make_settings, running
from privacy_store import mentions
from redis_server import delete_prefix, redis_url

from providers.registry import GROUP, InstanceConfig, build
from service.core.errors import InvalidEvidence
from service.flows.evidence_errors import PROBLEMS, rebuild, safe_path

CANARY_DATE = "1987-04-17"
CANARY_NAME = "Zebulon Quattlebaum"
ECHO = EntryPoint(name="echo", value="privacy_echo_provider:EvidenceEchoProvider", group=GROUP)


@pytest.mark.anyio
@pytest.mark.redis
@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("plain", 422, "invalid_evidence"),
        ("subclass", 422, "invalid_evidence"),
        ("image", 413, "image_too_large"),
    ],
)
async def test_a_providers_error_texts_and_extras_reach_no_response_log_or_store(
    mode: str, status: int, code: str
) -> None:
    url, prefix = redis_url(), f"pev{uuid.uuid4().hex[:8]}"
    settings = make_settings(store={"backend": "redis", "redis_url": url, "prefix": prefix})
    admin = redis.asyncio.Redis.from_url(url)
    try:
        async with running(settings) as run:
            # The provider is loaded from its entry point, as start-up loads an installed one.
            echo = build([InstanceConfig("os_signal", "echo", {})], eps={"echo": ECHO})
            providers = build([InstanceConfig("self_declaration", "self_declaration", {})])
            merged = {n: p for r in (providers, echo) for n in r.names if (p := r.get(n)) is not None}
            run.use_providers(type(echo)(merged))
            check = await run.start_check("ivy")
            body = {"method": "os_signal", "mode": mode, "birthdate": CANARY_DATE, "name": CANARY_NAME}
            r = await run.evidence(check["check_id"], body)
            stored = await mentions(admin, prefix, CANARY_DATE) | await mentions(admin, prefix, CANARY_NAME)
            logs = run.logs.getvalue()
        assert r.status_code == status, r.text
        problem = r.json()
        assert problem["code"] == code
        # No extras of the provider's; the attempts the check has left are the flow's own figure.
        assert set(problem) <= {"type", "title", "status", "code", "detail", "errors", "attempts_left"}
        assert problem["attempts_left"] == 4
        assert problem["errors"] == [
            {"field": "birthdate", "type": "value_error", "problem": PROBLEMS["value_error"]},
            {"field": "extra.<field>", "type": "extra_forbidden", "problem": PROBLEMS["extra_forbidden"]},
            {"field": "name", "type": "invalid", "problem": PROBLEMS["invalid"]},
            {"field": "document", "type": "invalid", "problem": PROBLEMS["invalid"]},
            {"field": "<evidence>", "type": "invalid", "problem": PROBLEMS["invalid"]},
        ]
        for canary in (CANARY_DATE, CANARY_NAME, "Quattlebaum", "1987"):
            assert canary not in r.text, canary
            assert canary not in logs, canary
        assert stored == {}
        # The attempt is spent all the same: rejected evidence costs what a guess costs.
        assert '"evidence.discarded"' in logs
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()


def test_our_own_errors_keep_their_meaning() -> None:
    exc = InvalidEvidence(
        "the evidence does not fit the method's schema",
        errors=[{"field": "birth_year", "type": "int_parsing", "problem": "Input should be a valid integer"}],
    )
    again = rebuild(exc, attempts_left=3)
    assert (type(again), again.code, again.status) == (InvalidEvidence, "invalid_evidence", 422)
    assert again.extra["attempts_left"] == 3
    assert again.extra["errors"] == [
        {"field": "birth_year", "type": "int_parsing", "problem": "Input should be a valid integer"}
    ]
    missing = InvalidEvidence("x", errors=[{"field": "source", "problem": "Field required"}])
    assert rebuild(missing, attempts_left=0).extra["errors"] == [
        {"field": "source", "type": "missing", "problem": "Field required"}
    ]


@pytest.mark.parametrize(
    ("field", "shown"),
    [
        ("claims.0.age_over_18", "claims.0.age_over_18"),
        ("a@b.example", "<field>"),
        ("dob.1987-04-17", "dob.<field>"),
        ("XK1234567", "<field>"),  # a plain name, but a document number
        ("", "<evidence>"),
        (None, "<evidence>"),
        ("x" * 65, "<field>"),
    ],
)
def test_field_paths_show_only_plain_names(field: object, shown: str) -> None:
    assert safe_path(field) == shown
