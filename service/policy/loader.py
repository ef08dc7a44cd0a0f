"""Load a policy file or directory: all-or-nothing, every error with file, line and path.

One pass reports every error in every file: a file with errors is salvaged (see
:mod:`service.policy.salvage`) so that the cross-references of the rest are still checked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from service.core.bands import Band, BandError, BandSet
from service.core.levels import Levels
from service.policy.abuse import abuse_problems, compile_abuse
from service.policy.compiled import (
    CONTENT_PUBLISH,
    DEFAULT_ADULT_AGE,
    DETERRENCE,
    SELF_DECLARATION,
    Depicted,
    Deterrence,
    Jurisdiction,
    Limit,
    Method,
    Policy,
)
from service.policy.model import DepictedSpec, JurisdictionSpec, MethodSpec, PolicyDocument
from service.policy.rule_loader import build_tables, resolve, with_interactions
from service.policy.salvage import Gaps, salvage
from service.policy.yaml_source import Issue, Path_, PolicyError, SourceMap, format_path, read_all

MAX_CHECK_TTL = timedelta(minutes=15)
SINGLE_SECTIONS = (
    "bands", "levels", "methods", "explanation", "default_locale", "retention", "actions", "messages",
    "adult_age", "depicted",
)  # fmt: skip
REQUIRED_SECTIONS = ("bands", "levels", "methods", "explanation")
DEFAULTS: dict[str, Any] = {
    "default_locale": "en", "retention": timedelta(days=400), "adult_age": DEFAULT_ADULT_AGE,
}  # fmt: skip
_BAND_FIELDS = {"lo": "min", "hi": "max", "name": "name"}  # core names → policy names


def policy_files(path: Path) -> list[Path]:
    """A file, or the ``*.yaml`` files directly in a directory (tests/ and schema/ excluded)."""
    if path.is_dir():
        files = sorted(p for p in path.glob("*.yaml") if p.is_file())
        if not files:
            raise PolicyError([Issue(str(path), None, "", "no *.yaml policy files in directory")])
        return files
    if not path.exists():
        raise PolicyError([Issue(str(path), None, "", "no such file or directory")])
    return [path]


def load_policy(path: Path) -> Policy:
    """The compiled policy, or a :class:`PolicyError` with every issue of every file."""
    files = policy_files(path)
    docs: list[tuple[PolicyDocument, SourceMap, dict[str, Any]]] = []
    found: list[tuple[Path_, Issue]] = []
    gaps = Gaps()
    for file in files:
        try:
            raw, src, problems = read_all(file)
        except PolicyError as exc:
            found.extend(((), i) for i in exc.issues)
            gaps.files = True
            continue
        try:
            doc = PolicyDocument.model_validate(raw)
        except ValidationError as exc:
            problems += _validation_issues(exc, src)
        if not problems:
            docs.append((doc, src, raw))
            continue
        found += problems
        if (kept := salvage(raw, [loc for loc, _ in problems], gaps)) is not None:
            docs.append((kept[0], src, kept[1]))
    issues = [issue for _, issue in found]
    policy: Policy | None = None
    if docs:
        try:
            policy = _compile(docs, gaps)
        except PolicyError as exc:
            issues += exc.issues
    if policy is None or issues:
        raise PolicyError(_by_file(issues, files))
    return policy


def _by_file(issues: list[Issue], files: list[Path]) -> list[Issue]:
    """Each file's issues together, by line, files in load order."""
    order = {str(f): n for n, f in enumerate(files)}
    return sorted(issues, key=lambda i: (order.get(i.file, -1), i.line or 0))


def _validation_issues(exc: ValidationError, src: SourceMap) -> list[tuple[Path_, Issue]]:
    out: list[tuple[Path_, Issue]] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc: Path_ = tuple(err["loc"])
        at, message = loc, err["msg"]
        if loc[-1:] == ("[key]",):  # pydantic's marker for a mapping key that fails its pattern
            at, message = loc[:-1], f"invalid key: {message}"
        out.append((loc, Issue(src.file, src.line_for(at), format_path(at), message)))
    return out


class _Checker:
    """Collects cross-reference issues, each located in the file that declared the value.

    ``gaps`` are the parts other errors set aside: what they might have defined is not
    reported missing.
    """

    def __init__(self, gaps: Gaps | None = None) -> None:
        self.issues: list[Issue] = []
        self.gaps = gaps or Gaps()

    def add(self, src: SourceMap, path: Path_, message: str) -> None:
        issue = Issue(src.file, src.line_for(path), format_path(path), message)
        if issue not in self.issues:  # a broken ancestor is reached from each descendant
            self.issues.append(issue)


def _compile(docs: list[tuple[PolicyDocument, SourceMap, dict[str, Any]]], gaps: Gaps) -> Policy:
    """The policy; with gaps, only checked (it raises, maybe with no issues of its own)."""
    chk = _Checker(gaps)
    single: dict[str, tuple[Any, SourceMap]] = {}
    juris: dict[str, tuple[JurisdictionSpec, SourceMap]] = {}
    empty: set[str] = set()
    for doc, src, raw in docs:
        for section in SINGLE_SECTIONS:
            if section not in raw:
                continue
            if getattr(doc, section) is None:
                chk.add(src, (section,), "must not be empty (omit the section instead)")
                empty.add(section)
                continue
            if section in single:
                chk.add(src, (section,), f"already defined in {single[section][1].file}")
                continue
            single[section] = (getattr(doc, section), src)
        for code, spec in doc.jurisdictions.items():
            if code in juris:
                chk.add(src, ("jurisdictions", code), f"already defined in {juris[code][1].file}")
                continue
            juris[code] = (spec, src)
    first = docs[0][1]
    for section in REQUIRED_SECTIONS:
        if section not in single and section not in empty and not gaps.lacks_section(section):
            chk.add(first, (), f"missing section {section!r} (in one of the policy files)")
    if "default" not in juris and not gaps.lacks_entry("jurisdictions", "default"):
        chk.add(first, ("jurisdictions",), "a 'default' jurisdiction is required")
    if chk.issues or any(s not in single for s in REQUIRED_SECTIONS):
        raise PolicyError(chk.issues)
    if "retention" in single and single["retention"][0] <= timedelta(0):
        chk.add(single["retention"][1], ("retention",), "must be more than 0")

    bands = _bands(single["bands"], chk)
    adult_age = single.get("adult_age", (DEFAULTS["adult_age"], None))[0]
    levels_spec, levels_src = single["levels"]
    try:
        levels = Levels(levels_spec)
    except ValueError as exc:
        chk.add(levels_src, ("levels",), str(exc))
        raise PolicyError(chk.issues) from None
    methods = _methods(single["methods"], levels, chk)
    method_names = set(methods) | gaps.entries.get("methods", set())
    jurisdictions = {
        code: j
        for code in juris
        if (j := _jurisdiction(code, juris, bands, levels, method_names, chk)) is not None
    }
    actions = tuple(single["actions"][0]) if "actions" in single else ()
    known_actions = (*actions, *sorted(gaps.entries.get("actions", ())))
    interactions = {
        code: resolve(code, chain, bands, levels, known_actions, chk.add)
        for code in juris
        if bands is not None
        and (chain := _chain(code, juris, _Checker(gaps)))
        and ("actions" in single or not gaps.lacks_section("actions"))
        and not any(gaps.touches(owner, "rules") for owner, _, _ in chain[1:])  # inherited rules unsure
    }
    depicted = _depicted(single["depicted"], levels, chk) if "depicted" in single else None
    if depicted is not None and CONTENT_PUBLISH not in actions and not gaps.lacks_section("actions"):
        chk.add(single["depicted"][1], ("depicted",), f"needs the action {CONTENT_PUBLISH!r} under 'actions'")
    if chk.issues or bands is None or gaps:
        raise PolicyError(chk.issues)
    jurisdictions = {code: with_interactions(j, interactions[code]) for code, j in jurisdictions.items()}
    _check_deterrence(jurisdictions, juris, chk)
    explanation = single["explanation"][0]
    return Policy(
        version=_version(docs),
        bands=bands,
        levels=levels,
        methods=methods,
        jurisdictions=jurisdictions,
        explanation_keeps=dict(explanation.keeps),
        explanation_why=dict(explanation.why),
        default_locale=single.get("default_locale", (DEFAULTS["default_locale"], None))[0],
        retention=single.get("retention", (DEFAULTS["retention"], None))[0],
        files=tuple(src.file for _, src, _ in docs),
        actions=actions,
        tables=build_tables(jurisdictions, bands, levels, actions, _service_messages(single)),
        adult_age=adult_age,
        messages=_service_messages(single),
        depicted=depicted,
    )


def _depicted(entry: tuple[DepictedSpec, SourceMap], levels: Levels, chk: _Checker) -> Depicted | None:
    spec, src = entry
    if spec.required_level not in levels:
        chk.add(src, ("depicted", "required_level"), _unknown("level", spec.required_level, levels.names))
        return None
    if spec.consent_token_age <= timedelta(0) or spec.consent_token_age > timedelta(minutes=15):
        chk.add(src, ("depicted", "consent_token_age"), "must be more than 0 and at most PT15M")
    if spec.retention <= timedelta(0):
        chk.add(src, ("depicted", "retention"), "must be more than 0")
    return Depicted(
        required_level=spec.required_level,
        never_sufficient=frozenset(spec.never_sufficient),
        consent_token_age=spec.consent_token_age,
        retention=spec.retention,
    )


def _service_messages(single: dict[str, tuple[Any, SourceMap]]) -> dict[str, dict[str, str]]:
    specs = single["messages"][0] if "messages" in single else {}
    return {str(reason): dict(texts) for reason, texts in specs.items()}


def _bands(entry: tuple[Any, SourceMap], chk: _Checker) -> BandSet | None:
    specs, src = entry
    try:
        return BandSet([Band(b.name, b.min, b.max) for b in specs])
    except BandError as exc:
        path: Path_ = ("bands",)
        if exc.index is not None:
            path = (*path, exc.index)
            if exc.field is not None:
                path = (*path, _BAND_FIELDS[exc.field])
        chk.add(src, path, str(exc))
        return None


def _methods(
    entry: tuple[dict[str, MethodSpec], SourceMap], levels: Levels, chk: _Checker
) -> dict[str, Method]:
    specs, src = entry
    out: dict[str, Method] = {}
    for name, m in specs.items():
        if m.level not in levels:
            chk.add(src, ("methods", name, "level"), _unknown("level", m.level, levels.names))
        for field in ("qualifier_levels", "qualifier_upper_levels"):
            for q, lvl in getattr(m, field).items():
                if lvl not in levels:
                    chk.add(src, ("methods", name, field, q), _unknown("level", lvl, levels.names))
        if m.upper_level is not None and m.upper_level not in levels:
            chk.add(src, ("methods", name, "upper_level"), _unknown("level", m.upper_level, levels.names))
        if m.class_ == SELF_DECLARATION:
            for field in ("upper_level", "qualifier_upper_levels", "upper_margin"):
                if field in m.model_fields_set:
                    chk.add(src, ("methods", name, field), "self-declaration never establishes an upper "
                            "edge: anyone can state a child's birth year")  # fmt: skip
        out[name] = Method(
            name=name,
            method_class=m.class_,
            level=m.level,
            buffer=m.buffer,
            sigma_k=m.sigma_k,
            max_sigma=m.max_sigma,
            liveness=m.liveness,
            on_inconclusive=m.on_inconclusive,
            qualifier_levels=dict(m.qualifier_levels),
            description=dict(m.description),
            upper_level=m.upper_level if m.upper_level in levels else None,
            qualifier_upper_levels={q: v for q, v in m.qualifier_upper_levels.items() if v in levels},
            upper_margin=m.upper_margin,
        )
    return out


def _chain(
    code: str, juris: dict[str, tuple[JurisdictionSpec, SourceMap]], chk: _Checker
) -> list[tuple[str, JurisdictionSpec, SourceMap]] | None:
    """The jurisdiction and its ancestors, nearest first; None on a broken or cyclic chain."""
    chain: list[tuple[str, JurisdictionSpec, SourceMap]] = []
    seen: set[str] = set()
    current: str | None = code
    while current is not None:
        if current in seen:
            spec, src = juris[code]
            chk.add(src, ("jurisdictions", code, "extends"), f"cycle through {current!r}")
            return None
        seen.add(current)
        if current not in juris:
            if not chk.gaps.lacks_entry("jurisdictions", current):
                _, src = juris[chain[-1][0]]
                chk.add(
                    src,
                    ("jurisdictions", chain[-1][0], "extends"),
                    _unknown("jurisdiction", current, sorted(juris)),
                )
            return None
        spec, src = juris[current]
        chain.append((current, spec, src))
        current = spec.extends
    return chain


def _jurisdiction(
    code: str,
    juris: dict[str, tuple[JurisdictionSpec, SourceMap]],
    bands: BandSet | None,
    levels: Levels,
    methods: Collection[str],
    chk: _Checker,
) -> Jurisdiction | None:
    if bands is None:
        return None
    spec, src = juris[code]
    base = ("jurisdictions", code)
    _check_refs(spec, src, base, bands, levels, methods, chk)  # its own, whatever it extends
    for where, message in abuse_problems(spec.abuse, levels):
        chk.add(src, (*base, *where), message)
    chain = _chain(code, juris, chk)
    if chain is None or any(chk.gaps.touches(owner) for owner, _, _ in chain):
        return None  # with a field here or above set aside, what is inherited is unsure

    def inherited(field: str) -> Any:
        for _, s, _ in chain:
            value = getattr(s, field)
            if value is not None:
                return value
        return None

    required: dict[str, str] = {}
    recheck_bands: dict[str, timedelta] = {}
    recheck_methods: dict[str, timedelta] = {}
    recheck_default: timedelta | None = None
    for _, s, _ in reversed(chain):  # ancestors first, so nearer jurisdictions override
        required.update(s.required_level or {})
        if s.recheck:
            recheck_bands.update(s.recheck.bands)
            recheck_methods.update(s.recheck.methods)
            if s.recheck.default is not None:
                recheck_default = s.recheck.default
    missing = [b for b in bands.names if b not in required]
    if missing:
        chk.add(src, (*base, "required_level"), f"no required level for band(s) {', '.join(missing)}")
    values = {f: inherited(f) for f in ("waterfall", "on_inconclusive", "on_exhausted", "grace")}
    upgrade_level = inherited("upgrade_level")
    for field, value in values.items():
        if value is None:
            chk.add(src, base, f"{field!r} is not set here or in any jurisdiction it extends")
    if recheck_default is None:
        chk.add(src, base, "'recheck.default' is not set here or in any jurisdiction it extends")
    attempts = inherited("attempts")
    deterrence = _deterrence(chain, src, base, chk)
    abuse = compile_abuse([s for _, s, _ in chain])
    ttl = inherited("check_ttl")
    if any(v is None for v in values.values()) or recheck_default is None or missing:
        return None
    return Jurisdiction(
        code=code,
        extends=spec.extends,
        required_level=required,
        waterfall=tuple(values["waterfall"]),
        on_inconclusive=values["on_inconclusive"],
        on_exhausted=values["on_exhausted"],
        recheck_default=recheck_default,
        recheck_bands=recheck_bands,
        recheck_methods=recheck_methods,
        grace=values["grace"],
        per_check_attempts=attempts.per_check if attempts else 5,
        per_method_attempts=attempts.per_method if attempts else 3,
        abuse=abuse,
        check_ttl=ttl if ttl is not None else MAX_CHECK_TTL,
        upgrade_level=upgrade_level if upgrade_level in levels else levels.names[0],
        deterrence=deterrence,
    )


def _check_deterrence(
    jurisdictions: dict[str, Jurisdiction],
    juris: dict[str, tuple[JurisdictionSpec, SourceMap]],
    chk: _Checker,
) -> None:
    """A rule's deterrence obligation needs the jurisdiction's deterrence to bring."""
    for code, j in jurisdictions.items():
        if j.deterrence is None and any(DETERRENCE in r.obligations for r in j.rules):
            message = "a rule has the deterrence obligation, but no 'deterrence' is set here or above"
            chk.add(juris[code][1], ("jurisdictions", code), message)
    if chk.issues:
        raise PolicyError(chk.issues)


def _deterrence(
    chain: list[tuple[str, JurisdictionSpec, SourceMap]], src: SourceMap, base: Path_, chk: _Checker
) -> Deterrence | None:
    """The deterrence along the chain: the nearest message and flag, resources merged per country."""
    specs = [s.deterrence for _, s, _ in reversed(chain) if s.deterrence is not None]  # ancestors first
    if not specs:
        return None
    message: dict[str, str] = {}
    resources: dict[str, tuple[dict[str, str], ...]] = {}
    repeated = None
    for spec in specs:
        message = dict(spec.message) if spec.message is not None else message
        for country, entries in (spec.resources or {}).items():
            resources[country] = tuple(e.model_dump(exclude_none=True) for e in entries)
        repeated = spec.repeated if spec.repeated is not None else repeated
    if not message:
        chk.add(src, (*base, "deterrence", "message"), "no deterrence message here or in what it extends")
    limit = Limit(repeated.max, repeated.window) if repeated is not None else None
    return Deterrence(message=message, resources=resources, repeated=limit)


def _check_refs(
    spec: JurisdictionSpec,
    src: SourceMap,
    base: Path_,
    bands: BandSet,
    levels: Levels,
    methods: Collection[str],
    chk: _Checker,
) -> None:
    """Check references where they are written, so the error points at the right line."""
    for name, lvl in (spec.required_level or {}).items():
        if name not in bands:
            chk.add(src, (*base, "required_level", name), _unknown("band", name, bands.names))
        if lvl not in levels:
            chk.add(src, (*base, "required_level", name), _unknown("level", lvl, levels.names))
    if spec.upgrade_level is not None and spec.upgrade_level not in levels:
        chk.add(src, (*base, "upgrade_level"), _unknown("level", spec.upgrade_level, levels.names))
    for i, m in enumerate(spec.waterfall or []):
        if m not in methods:
            chk.add(src, (*base, "waterfall", i), _unknown("method", m, sorted(methods)))
    if spec.recheck:
        for name in spec.recheck.bands:
            if name not in bands:
                chk.add(src, (*base, "recheck", "bands", name), _unknown("band", name, bands.names))
        for name in spec.recheck.methods:
            if name not in methods:
                chk.add(
                    src,
                    (*base, "recheck", "methods", name),
                    _unknown("method", name, sorted(methods)),
                )
    if spec.recheck:
        intervals: list[tuple[Path_, timedelta | None]] = [(("default",), spec.recheck.default)]
        intervals += [(("bands", b), v) for b, v in spec.recheck.bands.items()]
        intervals += [(("methods", m), v) for m, v in spec.recheck.methods.items()]
        for where, value in intervals:
            if value is not None and value <= timedelta(0):
                chk.add(src, (*base, "recheck", *where), "must be more than 0")
    if spec.grace is not None and spec.grace < timedelta(0):
        chk.add(src, (*base, "grace"), "must not be negative")
    if spec.check_ttl is not None and not timedelta(0) < spec.check_ttl <= MAX_CHECK_TTL:
        chk.add(src, (*base, "check_ttl"), "must be more than 0 and at most 15 minutes")


def _unknown(kind: str, value: object, known: Iterable[str]) -> str:
    return f"unknown {kind} {value!r} (known: {', '.join(known)})"


def _version(docs: list[tuple[PolicyDocument, SourceMap, dict[str, Any]]]) -> str:
    """Hash of the canonical policy: the same rules give the same version, whatever the layout.

    The files are merged first (each section is defined once, jurisdictions are unique), so one
    file or the same rules split over several give one version; comments and order do not count.
    """
    merged: dict[str, Any] = {"jurisdictions": {}}
    for doc, _, _ in docs:
        dumped = doc.model_dump(mode="json", by_alias=True, exclude_none=True)
        merged["jurisdictions"].update(dumped.pop("jurisdictions"))
        merged.update(dumped)
    digest = hashlib.sha256(json.dumps(merged, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()[:16]
