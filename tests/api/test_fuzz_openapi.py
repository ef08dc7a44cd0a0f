"""Schemathesis against the committed ``openapi.yaml`` and the in-process app: every check it has,
on every operation (schema-valid and schema-invalid requests) and statefully (sequences of calls).

Bounded and reproducible: a fixed number of examples per operation, derandomized, no example
database. Any server error fails the run, and so does any mismatch between answer and document:
none is allowed.

What the document can state, it states (enums, patterns, which members go together). Some values
of a schema-valid request are valid only in live state: names of the live policy, tokens and pair
nonces the service made, sids it keeps, the client's registered return URLs, evidence a provider
can read. A ``map_case`` hook (``_live_values``, with ``fuzz_live``) puts such values, drawn from
the app under test, into schema-valid requests, sequences included, and leaves the rest of each
request as generated; schema-invalid requests stay exactly as generated. Without it, such a
request would be refused (400 unknown_jurisdiction, invalid_party_token, ...) and counted as a
mismatch, and nothing behind the refusal would ever be reached.
"""

from __future__ import annotations

import atexit
import io
import json
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from factories import ADMIN, AUTH, PINNED, ROOT, make_settings
from fuzz_live import Live, supply
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.core import deserialization
from schemathesis.core.parameters import ParameterLocation

from service.app import DEMO_ADMIN_KEY, DEMO_CLIENT_KEY, create_app
from service.clients.registry import hash_key
from service.core.clock import FixedClock

EXAMPLES = 8  # per operation and generation mode
STATEFUL_SEQUENCES, STATEFUL_STEPS = 100, 6
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the failure kinds are what counts
)


@schemathesis.deserializer("application/jwt")
def _compact_jws(_: Any, response: Any) -> Any:
    """A JWT is a compact JWS (RFC 7519), not JSON: read it as the string the document says. The
    JSON types come here too (schemathesis counts them as one family): they are read as JSON."""
    media = str(response.headers.get("content-type", [""])[0]).split(";")[0].strip().lower()
    return response.content.decode("ascii") if media == "application/jwt" else response.json()


# Schemathesis counts application/jwt among the JSON types, and asks the JSON reader first:
# ask ours first instead.
_registry: dict[str, Any] = deserialization._DESERIALIZERS
_ours = _registry.pop("application/jwt")
_rest = dict(_registry)
_registry.clear()
_registry.update({"application/jwt": _ours, **_rest})


@schemathesis.hook("map_case")
def _live_values(_: Any, case: Any) -> Any:
    """Schema-valid requests get the values only the live service can make valid (``fuzz_live``
    says which, per operation); schema-invalid ones are left as generated, so that what they
    violate is still what the service must refuse."""
    meta = case.meta
    if meta is None or meta.generation.mode is not GenerationMode.POSITIVE:
        return case
    supply(LIVES[id(case.operation.app)], case)
    return case


# The test client (AUTH) with return URLs registered, exact and by prefix, so that a check can
# start with one; and the photo method backed by the bundled local model, so that an upload can
# be estimated (every other provider the document names stays as the default settings have it).
_FOLDER = Path(tempfile.mkdtemp(prefix="ageband-fuzz-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
_CLIENTS = _FOLDER / "clients.json"
_CLIENTS.write_text(
    json.dumps({
        "clients": [{
            "id": "demo", "api_keys": [hash_key(DEMO_CLIENT_KEY)], "jurisdictions": ["*"],
            "return_urls": ["https://app.example/age-check/done"],
            "return_url_prefixes": ["https://app.example/age/"],
        }],
        "admins": [{"id": "ops", "api_keys": [hash_key(DEMO_ADMIN_KEY)]}],
    }),
    encoding="utf-8",
)  # fmt: skip
SETTINGS = make_settings(
    dev_clock=True,
    clients_file=_CLIENTS,
    providers={
        "enabled": ["os_signal", "self_declaration", "facial_estimation"],
        "instances": {"facial_estimation": {"type": "local_estimation", "config": {}}},
    },
)
LIVES: dict[int, Live] = {}  # the app under test, by id, as the hook finds it


def _app() -> Any:
    clock = FixedClock(PINNED)
    app = create_app(SETTINGS, clock=clock, log_sink=io.StringIO())
    LIVES[id(app)] = Live(app, clock)
    return app


def _schema() -> Any:
    schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml")
    # A body over its limit is refused before it is parsed, with 413 (documented on every
    # operation with a body): as much a refusal of schema-invalid data as a 400 or a 422.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    schema.app = _app()
    return schema


SCHEMA = _schema()
ALL_CHECKS = CHECKS.get_all()


def _headers(operation: Any) -> dict[str, str]:
    return ADMIN if operation.definition.raw.get("security") == [{"adminKey": []}] else AUTH


def _call_headers(case: Any) -> dict[str, str]:
    """The credential for the case, unless the case is negative in its headers: then it may be
    the credential left out on purpose ("violates required: Authorization"), and adding it back
    would turn a schema-invalid request into a valid one that the service rightly accepts."""
    meta = case.meta
    if meta is not None and meta.is_negative_at(ParameterLocation.HEADER):
        return {}
    return _headers(case.operation)


def _failures(exc: BaseException) -> list[BaseException]:
    return list(getattr(exc, "exceptions", [exc]))


def case_label(case: Any) -> str:
    return str(case.operation.label)


def _has_inputs(operation: Any) -> bool:
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


def _operations() -> list[Any]:
    return [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.mark.parametrize("operation", _operations(), ids=lambda op: op.label)
def test_every_operation_answers_as_documented(operation: Any) -> None:
    # A fresh service per operation: what earlier operations did to it (rate limits, abuse
    # counters, started checks) must not decide how this one answers. The operation holds the
    # app it was listed with, so it is given the fresh one itself.
    operation.app = SCHEMA.app = _app()
    found: dict[str, set[str]] = defaultdict(set)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: Any) -> None:
            try:
                case.call_and_validate(headers=_call_headers(case), checks=ALL_CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, then judged
                for failure in _failures(exc):
                    found[type(failure).__name__].add(str(exc)[:1500])

        try:
            fuzz()
        except Unsatisfiable:
            # An operation without inputs has no schema-invalid request to make.
            assert mode is GenerationMode.NEGATIVE and not _has_inputs(operation), operation.label
    assert found == {}, {kind: sorted(msgs)[:3] for kind, msgs in found.items()}


def test_call_sequences_answer_as_documented() -> None:
    """Stateful: chains of calls that feed one answer into the next request (links schemathesis
    finds or infers in the document), every check on every step."""
    SCHEMA.app = _app()  # a fresh service, as for each operation
    found: dict[str, set[str]] = defaultdict(set)
    linked: list[str] = []  # steps whose request was made from an earlier answer

    class Sequences(SCHEMA.as_state_machine()):  # type: ignore[misc]  # a class made at run time
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": _call_headers(case)}

        def step(self, input: Any) -> Any:  # noqa: A002 - the name the base class gives it
            if input.transition is not None:
                linked.append(case_label(input.case))
            return super().step(input)

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            try:
                case.validate_response(response, checks=ALL_CHECKS, transport_kwargs=kwargs)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, then judged
                for failure in _failures(exc):
                    found[type(failure).__name__].add(f"{case.operation.label}: {str(exc)[:1500]}")

    Sequences.run(
        settings=settings(FUZZ, max_examples=STATEFUL_SEQUENCES, stateful_step_count=STATEFUL_STEPS)
    )
    assert dict(found) == {}, dict(found)
    assert len(set(linked)) >= 3, linked  # it did follow links: the run was stateful
