"""The provider conformance suite: every provider in the ``ageband.providers`` group passes it.

Each provider is described by one ``ConformanceCase`` in ``provider_cases.py`` (whose docstring
says how to add one); every test here runs once per case, or once per case and sample.
"""

from __future__ import annotations

import ast
import copy
import gc
import importlib.util
import inspect
import json
import re
import subprocess
import sys
import tomllib
import weakref
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from provider_cases import (
    CANARY_NUMBER,
    CANARY_TEXT,
    CASES,
    ConformanceCase,
    Invalid,
    Refused,
    Valid,
    leaf_values,
)

from providers.base import (
    Closeable,
    Failure,
    Flow,
    Outcome,
    Provider,
    ProviderContext,
    Signal,
    Unavailability,
)
from providers.registry import GROUP, InstanceConfig, build, discover
from service.core.errors import InvalidEvidence
from service.core.intervals import AgeInterval

ROOT = Path(__file__).resolve().parents[2]
MAX_AGE = 150
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
QUALIFIER = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*(?:\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*)*$")
# Modules a provider must never import, beyond the import-linter contract in pyproject.toml.
ALWAYS_FORBIDDEN = ("service.store", "service.tokens", "service.policy")
# Values of every JSON type that replace each field of a valid sample in the mutation tests.
REPLACEMENTS: tuple[object, ...] = (
    CANARY_TEXT,
    CANARY_NUMBER,
    -CANARY_NUMBER,
    1.5,
    True,
    None,
    "",
    [CANARY_TEXT],
    {"nested": CANARY_TEXT},
)


class TrackedEvidence(Mapping[str, Any]):
    """Read-only evidence that can be weakly referenced, to see whether a provider keeps it."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _per_case() -> list[Any]:
    return [pytest.param(case, id=case.entry_point) for case in CASES]


def _per_sample(kind: str) -> list[Any]:
    return [
        pytest.param(case, sample, id=f"{case.entry_point}-{sample.id}")
        for case in CASES
        for sample in getattr(case, kind)
    ]


def _available(case: ConformanceCase) -> tuple[Provider, ProviderContext]:
    provider = case.build()
    why = provider.unavailable()
    if why is not None:
        pytest.skip(f"{case.entry_point} is unavailable here: {why.reason}")
    return provider, case.context()


def _no_canary(text: str, canaries: tuple[object, ...], where: str) -> None:
    for canary in canaries:
        assert str(canary) not in text, f"the submitted value {canary!r} appears in {where}: {text}"


def _exception_texts(exc: BaseException) -> Iterator[str]:
    """What could reach a client or a log: messages, arguments, extras, and the whole chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        if isinstance(current, InvalidEvidence):
            yield current.detail
            yield json.dumps(current.extra, default=repr)
        current = current.__cause__ or current.__context__


def _check_invalid(exc: InvalidEvidence, canaries: tuple[object, ...]) -> None:
    assert exc.code == "invalid_evidence"
    json.dumps(exc.extra)  # rendered into the problem document as it is
    for text in _exception_texts(exc):
        _no_canary(text, canaries, "the InvalidEvidence")


def _check_signal(
    case: ConformanceCase,
    provider: Provider,
    ctx: ProviderContext,
    signal: Signal,
    evidence: Mapping[str, Any],
    canaries: tuple[object, ...] = (),
) -> None:
    assert isinstance(signal.interval, AgeInterval)
    iv = signal.interval
    assert not iv.is_empty, f"empty interval {iv}"
    assert 0 <= iv.lo <= MAX_AGE, f"lower end out of [0, {MAX_AGE}]: {iv}"
    assert iv.hi is None or iv.hi <= MAX_AGE, f"upper end out of [0, {MAX_AGE}]: {iv}"
    assert signal.method_class == provider.method_class == case.build().method_class
    assert signal.qualifier is None or QUALIFIER.fullmatch(signal.qualifier), signal.qualifier
    assert isinstance(signal.attributes, tuple)
    submitted = {str(v) for v in leaf_values(evidence) if isinstance(v, str)}
    for name in signal.attributes:
        assert isinstance(name, str)
        assert SNAKE.fullmatch(name), f"attribute {name!r} is not a name"
        assert name not in submitted, f"attribute {name!r} is a submitted value, not a name"
    if signal.age_up_at is not None:
        assert isinstance(signal.age_up_at, date)
        assert iv.is_exact, "age_up_at is only for exact intervals"
        assert signal.age_up_at > ctx.now.date()
    _no_canary(repr(signal), canaries, "the signal")


def _check_failure(case: ConformanceCase, failure: Failure, canaries: tuple[object, ...] = ()) -> None:
    assert SNAKE.fullmatch(failure.reason), f"reason {failure.reason!r} is not a lowercase snake_case code"
    assert failure.reason in case.failure_reasons, f"undeclared reason {failure.reason!r}"
    assert isinstance(failure.circumvention, bool)
    _no_canary(repr(failure), canaries, "the failure")


def _check_outcome(
    case: ConformanceCase,
    provider: Provider,
    ctx: ProviderContext,
    outcome: Outcome,
    evidence: Mapping[str, Any],
    canaries: tuple[object, ...],
) -> None:
    if isinstance(outcome, Signal):
        _check_signal(case, provider, ctx, outcome, evidence, canaries)
    else:
        assert isinstance(outcome, Failure), f"submit returned {type(outcome).__name__}"
        _check_failure(case, outcome, canaries)


# --- the cases themselves -------------------------------------------------------------------


def test_every_installed_provider_has_a_case() -> None:
    installed = set(entry_points(group=GROUP).names)
    covered = {case.entry_point for case in CASES}
    assert installed <= covered, f"providers without a conformance case: {sorted(installed - covered)}"


@pytest.mark.parametrize("case", _per_case())
def test_case_is_well_formed(case: ConformanceCase) -> None:
    if case.build().flow is Flow.REDIRECT:
        # A redirect provider's signals come from its callback (tests/oidc drives it over HTTP);
        # submitted evidence must only ever be refused.
        assert not case.valid, "a redirect provider gives no signal for submitted evidence"
    else:
        assert case.valid, "a case needs at least one valid sample"
    assert case.invalid, "a case needs at least one invalid sample"
    assert any(s.canaries for s in case.invalid), "at least one invalid sample must carry canaries"
    ids = [s.id for s in case.samples()]
    assert len(ids) == len(set(ids)), "sample ids must be unique within a case"
    for sample in case.invalid:
        submitted = {str(v) for v in leaf_values(sample.evidence)}
        for canary in sample.canaries:
            assert len(str(canary)) >= 3, f"{sample.id}: canary {canary!r} is too short to search for"
            assert any(str(canary) in v for v in submitted), f"{sample.id}: {canary!r} is not submitted"
    for reason in case.failure_reasons:
        assert SNAKE.fullmatch(reason), reason
    for refused in case.refused:
        assert refused.reason in case.failure_reasons, f"{refused.id}: undeclared reason {refused.reason}"


# --- Protocol, declarations, discovery ------------------------------------------------------


@pytest.mark.parametrize("case", _per_case())
def test_satisfies_the_provider_protocol(case: ConformanceCase) -> None:
    provider = case.build("conformance_instance")
    assert isinstance(provider, Provider)
    assert inspect.iscoroutinefunction(provider.submit), "submit must be a coroutine function"
    assert provider.name == "conformance_instance", "a provider keeps the instance name it is given"


@pytest.mark.parametrize("case", _per_case())
def test_declares_method_class_evidence_kinds_and_flow(case: ConformanceCase) -> None:
    provider = case.build()
    cls = type(provider)
    # Class-level declarations (ClassVars): readable without building an instance.
    assert isinstance(cls.method_class, str)
    assert SNAKE.fullmatch(cls.method_class), f"method_class {cls.method_class!r}"
    assert isinstance(cls.evidence_kinds, tuple)
    assert cls.evidence_kinds, "evidence_kinds must not be empty"
    assert all(isinstance(k, str) and k for k in cls.evidence_kinds)
    assert len(set(cls.evidence_kinds)) == len(cls.evidence_kinds)
    assert isinstance(cls.flow, Flow)
    assert (provider.method_class, provider.evidence_kinds, provider.flow) == (
        cls.method_class,
        cls.evidence_kinds,
        cls.flow,
    )


@pytest.mark.parametrize("case", _per_case())
def test_discoverable_through_the_entry_point_group(case: ConformanceCase) -> None:
    eps = entry_points(group=GROUP)
    assert case.entry_point in eps.names, f"{case.entry_point!r} is not in the {GROUP!r} group"
    ep = eps[case.entry_point]
    assert ep.load() is case.factory
    assert discover()[case.entry_point].value == ep.value
    # The registry builds it from the entry point, as start-up does.
    registry = build([InstanceConfig("conformance_instance", case.entry_point, case.config)])
    built = registry.get("conformance_instance")
    assert built is not None
    assert type(built) is type(case.build())


@pytest.mark.parametrize("case", _per_case())
def test_unavailable_is_none_or_gives_a_reason(case: ConformanceCase) -> None:
    why = case.build().unavailable()
    assert why is None or (isinstance(why, Unavailability) and isinstance(why.reason, str) and why.reason)


@pytest.mark.parametrize("case", _per_case())
def test_refuses_an_unknown_configuration_key(case: ConformanceCase) -> None:
    # A typo in a provider's settings stops start-up instead of being ignored.
    with pytest.raises((ValueError, TypeError, LookupError)):
        case.factory(case.entry_point, {**case.config, "conformance_unknown_option": True})


# --- imports --------------------------------------------------------------------------------


def _forbidden_modules() -> tuple[str, ...]:
    """The "providers use only the core" import-linter contract, plus the three named in DESIGN.md."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    from_contract = [
        module
        for contract in contracts
        if contract["type"] == "forbidden" and "providers" in contract["source_modules"]
        for module in contract["forbidden_modules"]
    ]
    assert from_contract, "pyproject.toml lost its providers import contract"
    return tuple(sorted({*from_contract, *ALWAYS_FORBIDDEN}))


def _is_forbidden(module: str, forbidden: tuple[str, ...]) -> bool:
    return any(module == f or module.startswith(f"{f}.") for f in forbidden)


def _static_imports(module: str) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import statement and literal import_module() call."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    source = Path(spec.origin).read_text(encoding="utf-8")
    package = module if spec.submodule_search_locations is not None else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source, filename=spec.origin)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = (
                importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                if node.level
                else node.module or ""
            )
            yield base, node.lineno
            for alias in node.names:  # ``from a import b`` may import the module a.b
                yield f"{base}.{alias.name}", node.lineno
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
                yield node.args[0].value, node.lineno


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # ``from pkg.module import Name``: pkg.module.Name is no module
        return False


@pytest.mark.parametrize("case", _per_case())
def test_imports_nothing_but_the_core_statically(case: ConformanceCase) -> None:
    """Reads the source of the provider's module and of every module of its package it imports."""
    forbidden = _forbidden_modules()
    start = entry_points(group=GROUP)[case.entry_point].module
    top = start.partition(".")[0]
    todo, seen, violations = [start], {start}, []
    while todo:
        module = todo.pop()
        for imported, line in _static_imports(module):
            if _is_forbidden(imported, forbidden):
                violations.append(f"{module}:{line} imports {imported}")
            own = imported.partition(".")[0] == top and _is_module(imported)
            if own and imported not in seen:
                seen.add(imported)
                todo.append(imported)
    assert not violations, violations


@pytest.mark.parametrize("case", _per_case())
def test_imports_nothing_but_the_core_at_runtime(case: ConformanceCase) -> None:
    """A fresh interpreter imports the provider; none of the forbidden modules may load with it."""
    module = entry_points(group=GROUP)[case.entry_point].module
    script = "import importlib, sys; importlib.import_module(sys.argv[1]); print('\\n'.join(sys.modules))"
    # Fixed argv: our own interpreter and module name, no shell.
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script, module], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = done.stdout.split()
    assert module in loaded
    forbidden = _forbidden_modules()
    assert not [m for m in loaded if _is_forbidden(m, forbidden)]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.entry_point) for c in CASES if hasattr(c.factory, "aclose")]
)
async def test_a_provider_holding_resources_closes_at_any_time(case: ConformanceCase) -> None:
    """``aclose`` (the optional ``Closeable`` hook the service calls at shutdown) is safe before
    any use, after use, and twice."""
    provider = case.build()
    assert isinstance(provider, Closeable)
    await provider.aclose()
    if provider.unavailable() is None and case.valid:
        await provider.submit(dict(case.valid[0].evidence), case.context())
    await provider.aclose()
    await provider.aclose()


# --- evidence -------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("case", "sample"), _per_sample("valid"))
async def test_valid_evidence_gives_a_signal(case: ConformanceCase, sample: Valid) -> None:
    provider, ctx = _available(case)
    outcome = await provider.submit(dict(sample.evidence), ctx)
    assert isinstance(outcome, Signal), f"expected a Signal, got {outcome!r}"
    _check_signal(case, provider, ctx, outcome, sample.evidence)
    if sample.interval is not None:
        assert outcome.interval == sample.interval
    if sample.qualifier is not None:
        assert outcome.qualifier == sample.qualifier


@pytest.mark.anyio
@pytest.mark.parametrize(("case", "sample"), _per_sample("refused"))
async def test_refused_evidence_gives_a_failure_with_a_stable_code(
    case: ConformanceCase, sample: Refused
) -> None:
    provider, ctx = _available(case)
    outcome = await provider.submit(dict(sample.evidence), ctx)
    assert isinstance(outcome, Failure), f"expected a Failure, got {outcome!r}"
    _check_failure(case, outcome)
    assert outcome.reason == sample.reason


@pytest.mark.anyio
@pytest.mark.parametrize(("case", "sample"), _per_sample("invalid"))
async def test_invalid_evidence_raises_without_echoing_values(case: ConformanceCase, sample: Invalid) -> None:
    provider, ctx = _available(case)
    with pytest.raises(InvalidEvidence) as caught:
        await provider.submit(dict(sample.evidence), ctx)
    _check_invalid(caught.value, sample.canaries)


@pytest.mark.anyio
@pytest.mark.parametrize(("case", "sample"), _per_sample("valid"))
async def test_an_unknown_field_is_rejected(case: ConformanceCase, sample: Valid) -> None:
    provider, ctx = _available(case)
    evidence = {**sample.evidence, "conformance_unknown_field": CANARY_TEXT}
    with pytest.raises(InvalidEvidence) as caught:
        await provider.submit(evidence, ctx)
    _check_invalid(caught.value, (CANARY_TEXT,))


@pytest.mark.anyio
@pytest.mark.parametrize(("case", "sample"), _per_sample("valid"))
async def test_any_value_in_any_field_is_handled_without_echoing_it(
    case: ConformanceCase, sample: Valid
) -> None:
    """Each field of a valid sample, replaced by a value of each JSON type (canaries among them):
    the provider answers with an outcome that passes every check, or with InvalidEvidence; it
    never crashes another way and never hands the value back."""
    provider, ctx = _available(case)
    canaries = (CANARY_TEXT, CANARY_NUMBER)
    for key in sample.evidence:
        for value in REPLACEMENTS:
            evidence = {**sample.evidence, key: value}
            try:
                outcome = await provider.submit(evidence, ctx)
            except InvalidEvidence as exc:
                _check_invalid(exc, canaries)
            else:
                _check_outcome(case, provider, ctx, outcome, evidence, canaries)


@pytest.mark.anyio
@pytest.mark.parametrize("case", _per_case())
async def test_evidence_of_the_wrong_shape_is_invalid_evidence(case: ConformanceCase) -> None:
    """Errors may name an unknown field (a name the client chose), never echo its value."""
    provider, ctx = _available(case)
    for evidence in ({}, {"conformance_unknown_field": CANARY_TEXT}, {"": None}):
        with pytest.raises(InvalidEvidence) as caught:
            await provider.submit(evidence, ctx)
        _check_invalid(caught.value, (CANARY_TEXT,))


# --- evidence is let go ---------------------------------------------------------------------


def _all_samples() -> list[Any]:
    return [
        pytest.param(case, sample, id=f"{case.entry_point}-{sample.id}")
        for case in CASES
        for sample in case.samples()
    ]


async def _submit_quietly(provider: Provider, evidence: Mapping[str, Any], ctx: ProviderContext) -> str:
    try:
        outcome = await provider.submit(evidence, ctx)
    except InvalidEvidence:
        return "invalid"
    return repr(outcome)


def _eventually(released: Callable[[], bool]) -> bool:
    """Reference cycles (an exception's traceback) are not retention: collect them, then look again."""
    if released():
        return True
    gc.collect()
    return released()


@pytest.mark.anyio
@pytest.mark.parametrize(("case", "sample"), _all_samples())
async def test_submit_does_not_keep_the_evidence(
    case: ConformanceCase, sample: Valid | Refused | Invalid
) -> None:
    provider, ctx = _available(case)

    # A dict, as the API passes it: no new reference survives the call, and it is not changed.
    evidence = copy.deepcopy(dict(sample.evidence))
    before = sys.getrefcount(evidence)
    as_dict = await _submit_quietly(provider, evidence, ctx)
    assert _eventually(lambda: sys.getrefcount(evidence) == before), "the provider kept the evidence"
    assert evidence == sample.evidence, "the provider changed the evidence"

    # Any other read-only Mapping: the same answer, and it is freed once the caller drops it.
    tracked = TrackedEvidence(sample.evidence)
    ref = weakref.ref(tracked)
    as_mapping = await _submit_quietly(provider, tracked, ctx)
    del tracked
    assert _eventually(lambda: ref() is None), "the provider kept the evidence"
    assert as_mapping == as_dict, "a Mapping that is not a dict must give the same answer"
