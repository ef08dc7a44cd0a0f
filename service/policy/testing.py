"""Policy tests as data: ``policies/tests/*_test.yaml``, each suite with a pinned ``now``.

    name: adults and minors
    now: 2026-03-10T12:00:00Z
    tests:
      - name: an adult cannot see a teen's profile
        jurisdiction: GB
        action: profile.view
        actor: {band: 18_plus, level: effective}
        target: {band: 13_15}              # omit band for an unknown party
      - name: corroborated teens can talk
        jurisdiction: GB
        action: message.send
        actor: {band: 13_15, level: effective, upper_level: effective}   # upper_level: the band's
        target: {band: 13_15, level: effective, upper_level: effective}  # upper edge's assurance
        expect: {effect: allow}
        expect: {effect: deny, rule: adults-cannot-reach-minors, reason: minor_account_protected}
      - name: a self-declared adult is re-checked within 90 days
        recheck: {jurisdiction: default, band: 18_plus, method: self_declaration, assured_at: 2025-12-01}
        expect: {due: true}

A suite may also hold ``scenarios``: sequences of real checks and decisions, run through the
check flow in process (memory store, the pinned clock), for what a table cannot show, such as
a subject whose band moves::

    scenarios:
      - name: an adult cannot pose as a child
        jurisdiction: GB
        steps:
          - check: {subject: poser, evidence: [{method: self_declaration, birth_year: 2011}]}
            expect: {outcome: passed, band: 13_15, upper_level: null}
          - check: {subject: kid, evidence: [{method: os_signal, source: apple,
                    declaration: guardian_declared, lower_bound: 13, upper_bound: 15}]}
          - decide: {actor: poser, target: kid, actions: [message.send]}
            expect: {effect: deny, reason: minor_band_unconfirmed}
          - advance: P2D

The same suites run under pytest and through ``ageband policy test``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from service.core.durations import Duration
from service.policy.compiled import Policy
from service.policy.yaml_source import PolicyError, format_path, read


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartyCase(_M):
    band: str | None = None
    level: str | None = None
    upper_level: str | None = None  # how well the band's upper edge is established; omit: not at all

    @property
    def key(self) -> tuple[str | None, str | None, str | None]:
        return (self.band, self.level, self.upper_level)


class Expect(_M):
    effect: Literal["allow", "deny"] | None = None
    rule: str | None = None
    reason: str | None = None
    obligations: list[str] | None = None
    due: bool | None = None


class RecheckCase(_M):
    jurisdiction: str
    band: str
    method: str
    assured_at: datetime


class Case(_M):
    name: str
    jurisdiction: str | None = None
    action: str | None = None
    actor: PartyCase = Field(default_factory=PartyCase)
    target: PartyCase = Field(default_factory=PartyCase)
    recheck: RecheckCase | None = None
    expect: Expect


class CheckExpect(_M):
    """What a check step must end with; a field left out is not checked (null is checked)."""

    outcome: Literal["passed", "inconclusive", "failed"] | None = None
    reason: str | None = None
    band: str | None = None
    level: str | None = None
    upper_level: str | None = None
    sanction: str | None = None
    error: str | None = Field(default=None, description="The problem code the step is refused with.")


class CheckSpec(_M):
    subject: str = Field(description="A name for the app's user, kept for the scenario's later steps.")
    jurisdiction: str | None = None
    purpose: Literal["signup", "recheck", "step_up", "access", "confirm", "appeal"] = "signup"
    device: str | None = Field(default=None, description="The device id the app relays, if any.")
    evidence: list[dict[str, Any]] = Field(min_length=1, description="Submitted in order, in one check.")
    expect: CheckExpect | None = None


class DecideExpect(_M):
    effect: Literal["allow", "deny"] | None = None
    rule: str | None = None
    reason: str | None = None
    error: str | None = None


class DecideSpec(_M):
    actor: str | None = Field(default=None, description="A subject of the scenario; omitted: unknown.")
    target: str | None = Field(default=None, description="A subject of the scenario; omitted: unknown.")
    actions: list[str] = Field(min_length=1)
    jurisdiction: str | None = None
    trusted: bool = Field(
        default=False, description="Pass relationship: trusted with the pair's connection (see 'connect')."
    )
    expect: DecideExpect | None = None


class ReviewExpect(_M):
    error: str | None = Field(default=None, description="The problem code the step is refused with.")
    upper_level: str | None = Field(default=None, description="The child's upper edge after a guardian step.")


class RecheckStep(_M):
    """The app demands a re-check of a subject (POST /v1/subjects/recheck)."""

    subject: str
    reason: Literal["reported_adult_posing_as_minor", "reported_minor_posing_as_adult", "moderator_request"]
    min_level: str | None = None
    within: Duration | None = Field(
        default=None, description="The deadline, from now (default: the policy's)."
    )
    expect: ReviewExpect | None = None


class GuardianStep(_M):
    """A code for ``child``, confirmed by ``guardian`` (POST /v1/guardians/codes, /confirm)."""

    child: str
    guardian: str
    expect: ReviewExpect | None = None


class ConnectStep(_M):
    """``a`` opens a trusted connection with its token, ``b`` confirms it with its own."""

    a: str
    b: str
    expect: ReviewExpect | None = None


class Step(_M):
    """Exactly one of ``check``, ``decide``, ``recheck``, ``guardian``, ``connect`` or ``advance``;
    ``expect`` beside one of the others says what it must end with."""

    check: CheckSpec | None = None
    decide: DecideSpec | None = None
    recheck: RecheckStep | None = None
    guardian: GuardianStep | None = None
    connect: ConnectStep | None = None
    advance: Duration | None = Field(default=None, description="Move the pinned clock on.")

    @model_validator(mode="before")
    @classmethod
    def _expect_goes_with_its_step(cls, data: Any) -> Any:
        if isinstance(data, dict) and "expect" in data:
            data = dict(data)
            expect = data.pop("expect")
            kinds = [k for k in _EXPECTING if isinstance(data.get(k), dict)]
            if len(kinds) != 1:
                raise ValueError("expect goes beside a check, decide, recheck, guardian or connect")
            data[kinds[0]] = {**data[kinds[0]], "expect": expect}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        kinds = (self.check, self.decide, self.recheck, self.guardian, self.connect, self.advance)
        if sum(x is not None for x in kinds) != 1:
            raise ValueError("a step is exactly one of check, decide, recheck, guardian, connect or advance")
        return self


_EXPECTING = ("check", "decide", "recheck", "guardian", "connect")


class Scenario(_M):
    name: str
    jurisdiction: str = "default"
    steps: list[Step] = Field(min_length=1)


class Suite(_M):
    name: str
    now: datetime = Field(description="Pinned time for every case of the suite.")
    tests: list[Case] = Field(default_factory=list)
    scenarios: list[Scenario] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Suite:
        if not self.tests and not self.scenarios:
            raise ValueError("a suite needs tests, scenarios or both")
        return self


@dataclass(frozen=True, slots=True)
class Result:
    suite: str
    case: str
    file: str
    failure: str | None  # None when it passed

    @property
    def passed(self) -> bool:
        return self.failure is None


def suite_files(path: Path) -> list[Path]:
    folder = (path if path.is_dir() else path.parent) / "tests"
    return sorted(folder.glob("*_test.yaml"))


class SuiteError(ValueError):
    """A test suite file that cannot be read; the message has file, line and path."""


def load_suite(file: Path) -> Suite:
    try:
        raw, src = read(file)
        return Suite.model_validate(raw)
    except PolicyError as exc:
        raise SuiteError(str(exc)) from None
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        loc = tuple(first["loc"])
        raise SuiteError(f"{file}:{src.line_for(loc)}: {format_path(loc)}: {first['msg']}") from None


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def run_case(policy: Policy, suite: Suite, case: Case) -> str | None:
    """None when the case passes, else what differed."""
    exp = case.expect
    try:
        if case.recheck is not None:
            r = case.recheck
            interval = policy.jurisdiction(r.jurisdiction).recheck_interval(r.band, r.method)
            due = _aware(r.assured_at) + interval <= _aware(suite.now)
            return None if exp.due is None or exp.due == due else f"due: expected {exp.due}, got {due}"
        if case.jurisdiction is None or case.action is None:
            return "a decision case needs 'jurisdiction' and 'action'"
        o = policy.tables.decide(
            case.jurisdiction,
            case.action,
            case.actor.key,
            case.target.key,
        )
    except Exception as exc:  # noqa: BLE001  # a failing case reports any error as its failure
        return f"error: {exc}"
    got: dict[str, Any] = {
        "effect": "allow" if o.allowed else "deny",
        "rule": o.rule,
        "reason": o.reason,
        "obligations": list(o.obligations),
    }
    diffs = [
        f"{k}: expected {v!r}, got {got[k]!r}"
        for k, v in exp.model_dump(exclude_none=True).items()
        if got.get(k) != v
    ]
    return "; ".join(diffs) or None


def run_suites(policy: Policy, files: list[Path]) -> list[Result]:
    results: list[Result] = []
    for file in files:
        suite = load_suite(file)
        results.extend(Result(suite.name, c.name, str(file), run_case(policy, suite, c)) for c in suite.tests)
    return results


def junit_xml(results: list[Result]) -> str:
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name="ageband policy tests")
    by_suite: dict[str, list[Result]] = {}
    for r in results:
        by_suite.setdefault(r.suite, []).append(r)
    for name, rs in by_suite.items():
        failures = sum(not r.passed for r in rs)
        el = ET.SubElement(root, "testsuite", name=name, tests=str(len(rs)), failures=str(failures))
        for r in rs:
            tc = ET.SubElement(el, "testcase", classname=name, name=r.case, file=r.file)
            if r.failure is not None:
                ET.SubElement(tc, "failure", message=r.failure).text = r.failure
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
