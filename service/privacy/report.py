"""The privacy report: verify the audit chain, rebuild each check's lifecycle, find violations.

Input is one or more JSONL logs (the service's stdout, or its audit file, rotated parts in
order). Lines that are not audit events are still searched for personal values. Findings
name a file, a line, a chain position and a detector, never the value that was found.
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service.audit.chain import CHAIN_KEYS, CHECKPOINT, GENESIS, event_hash
from service.audit.checkpoint_keys import checkpoint_problem
from service.audit.detectors import scan_text, scan_value
from service.audit.guard import ALLOWED_KEYS, REDACTED
from service.privacy.inventory import inventory

VIOLATION = "violation"
WARNING = "warning"
DEFAULT_EVIDENCE_BOUND_MS = 5000.0
# Keys that hold our own hashes: searching them for personal values only costs time.
_NOT_SCANNED = frozenset({"hash", "prev", "head", "chain"})
_PROGRESS_EVERY = 4096  # lines between reports of how much was read
# The one date the log writes itself: each event's time. A date anywhere else is a finding.
_OWN_DATES = {"timestamp": "timestamp"}
# Which key class each "stored" event describes.
_STORED_EVENTS = {"record.stored": "record"}
# A sid in clear, wherever it stands: the log names subjects only by sid_hash (erasable).
_SID_RE = re.compile(r"(?<![A-Za-z0-9_-])sid_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
_ERASED = "subject.erased"


@dataclass(frozen=True, slots=True)
class Issue:
    severity: str  # violation | warning
    kind: str  # a stable code, e.g. chain_break, evidence_not_discarded, pii_in_log
    detail: str
    where: str = ""  # file:line
    chain: str | None = None
    seq: int | None = None
    check_id: str | None = None


@dataclass(slots=True)
class EvidenceSpan:
    kind: str
    attempt: int | None
    received_at: str
    discarded_at: str | None = None
    lifetime_ms: float | None = None


@dataclass(slots=True)
class CheckLifecycle:
    check_id: str
    client: str | None = None
    jurisdiction: str | None = None
    purpose: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    outcome: str = "open"  # passed | failed | open (no completion in the log)
    method: str | None = None  # method class of the last evidence, or of the pass
    reason: str | None = None
    events: list[str] = field(default_factory=list)
    evidence: list[EvidenceSpan] = field(default_factory=list)
    stored_fields: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ChainSummary:
    chain: str
    events: int
    first_seq: int
    last_seq: int
    head: str
    checkpoints: int
    closed: bool  # ends with the shutdown checkpoint
    signed_checkpoints: int | None = None  # verified by a given key (None: no key given)


@dataclass(frozen=True, slots=True)
class ReportOptions:
    evidence_bound_ms: float = DEFAULT_EVIDENCE_BOUND_MS
    checkpoint_files: tuple[Path, ...] = ()
    erased: tuple[str, ...] = ()  # erasure references (``ageband privacy erasure-ref``) to check
    # Published checkpoint keys by kid: every checkpoint must be signed by one (None: not checked).
    checkpoint_keys: Mapping[str, Ed25519PublicKey] | None = None


@dataclass(slots=True)
class Report:
    files: list[str]
    lines: int = 0
    audit_events: int = 0
    chains: list[ChainSummary] = field(default_factory=list)
    checks: list[CheckLifecycle] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    event_counts: dict[str, int] = field(default_factory=dict)
    evidence_bound_ms: float = DEFAULT_EVIDENCE_BOUND_MS

    @property
    def violations(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == VIOLATION]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == WARNING]

    def checks_by_method(self) -> dict[str, dict[str, int]]:
        table: dict[str, Counter[str]] = defaultdict(Counter)
        for c in self.checks:
            table[c.method or "none"][c.outcome] += 1
        return {m: dict(sorted(o.items())) for m, o in sorted(table.items())}

    def evidence_lifetime(self) -> dict[str, float | int | None]:
        spans = [e.lifetime_ms for c in self.checks for e in c.evidence if e.lifetime_ms is not None]
        return {
            "count": len(spans),
            "p50_ms": round(statistics.median(spans), 3) if spans else None,
            "max_ms": round(max(spans), 3) if spans else None,
            "bound_ms": self.evidence_bound_ms,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.violations,
            "files": self.files,
            "lines": self.lines,
            "audit_events": self.audit_events,
            "chains": [asdict(c) for c in self.chains],
            "violations": [asdict(i) for i in self.violations],
            "warnings": [asdict(i) for i in self.warnings],
            "statistics": {
                "checks": len(self.checks),
                "checks_by_method_and_outcome": self.checks_by_method(),
                "evidence_lifetime": self.evidence_lifetime(),
                "events_by_type": dict(sorted(self.event_counts.items())),
            },
            "checks": [asdict(c) for c in self.checks],
        }


@dataclass(slots=True)
class _Event:
    data: dict[str, Any]
    where: str


def build_report(
    paths: Iterable[Path],
    options: ReportOptions | None = None,
    on_read: Callable[[int], None] | None = None,
) -> Report:
    """``on_read`` hears, as reading goes, how many more bytes were read (for progress)."""
    opts = options or ReportOptions()
    paths = list(paths)
    report = Report(files=[str(p) for p in paths], evidence_bound_ms=opts.evidence_bound_ms)
    chains: dict[str, list[_Event]] = {}
    audit: list[_Event] = []
    tell = on_read or (lambda _: None)
    for path in paths:
        size, told, unread = path.stat().st_size, 0, 0
        with path.open(encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                unread += len(line)  # characters: bytes but for non-ASCII text, made up at the end
                if n % _PROGRESS_EVERY == 0:
                    tell(unread)
                    told, unread = told + unread, 0
                if not line.strip():
                    continue
                report.lines += 1
                where = f"{path}:{n}"
                event = _parse(line)
                if event is None:
                    _scan_raw(report, line, where)
                    continue
                _scan_event(report, event, where)
                if event.get("audit") is not True:
                    continue
                ev = _Event(event, where)
                audit.append(ev)
                report.audit_events += 1
                chain = event.get("chain")
                if not isinstance(chain, str) or not all(k in event for k in CHAIN_KEYS):
                    report.issues.append(
                        Issue(VIOLATION, "unchained_event", "an audit event without its chain fields", where)
                    )
                    continue
                chains.setdefault(chain, []).append(ev)
        tell(max(size - told, 0))
    report.event_counts = dict(Counter(str(e.data.get("event")) for e in audit))
    for chain_id, events in chains.items():
        summary = _verify_chain(report, chain_id, events)
        if opts.checkpoint_keys is not None:
            summary.signed_checkpoints = _verify_signatures(report, chain_id, events, opts.checkpoint_keys)
        report.chains.append(summary)
    for cp_path in opts.checkpoint_files:
        _verify_checkpoints(report, cp_path, chains, opts.checkpoint_keys)
    report.checks = _lifecycles(report, audit, opts.evidence_bound_ms)
    for ref in opts.erased:
        _check_erasure(report, ref, audit)
    return report


def _check_erasure(report: Report, ref: str, audit: list[_Event]) -> None:
    """The erasure is in the trail and ties to nothing. Every sid in clear is already a violation
    (``sid_in_log``); what stays is that the erasure event itself names no sid_hash, which would
    tie it to the subject's earlier events (their key is gone: nothing else can)."""
    found = [ev for ev in audit if ev.data.get("event") == _ERASED and ev.data.get("sid_ref") == ref]
    if not found:
        detail = "no subject.erased event carries this erasure reference"
        report.issues.append(Issue(VIOLATION, "erasure_not_found", detail))
    for ev in found:
        if ev.data.get("sid_hash") is not None or "sid" in ev.data:
            detail = "the erasure event names the subject, tying it to the subject's earlier events"
            report.issues.append(Issue(VIOLATION, "erasure_linked", detail, ev.where, *_at(ev.data)))


def _parse(line: str) -> dict[str, Any] | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _scan_raw(report: Report, line: str, where: str) -> None:
    report.issues.append(Issue(WARNING, "unparsed_line", "not a JSON object: only searched for PII", where))
    for finding in scan_text(line):
        report.issues.append(Issue(VIOLATION, "pii_in_log", f"{finding.detector} in a raw line", where))
    if _SID_RE.search(line):
        report.issues.append(Issue(VIOLATION, "sid_in_log", "a sid in clear in a raw line", where))


def _at(event: Mapping[str, Any]) -> tuple[str | None, int | None, str | None]:
    chain, seq, check = event.get("chain"), event.get("seq"), event.get("check_id")
    return (
        chain if isinstance(chain, str) else None,
        seq if isinstance(seq, int) else None,
        check if isinstance(check, str) else None,
    )


def _scan_event(report: Report, event: dict[str, Any], where: str) -> None:
    at = _at(event)
    if _SID_RE.search(json.dumps(event)):
        detail = "a sid in clear: erasure could never untie this event from its subject"
        report.issues.append(Issue(VIOLATION, "sid_in_log", detail, where, *at))
    for finding in scan_value(event, skip=_NOT_SCANNED, own_dates=_OWN_DATES):
        detail = f"{finding.detector} at {finding.path}"
        report.issues.append(Issue(VIOLATION, "pii_in_log", detail, where, *at))
    unknown = sorted(k for k in event if k not in ALLOWED_KEYS and event[k] != REDACTED)
    if unknown:
        detail = f"keys outside the PII guard's allowlist: {', '.join(unknown)[:200]}"
        report.issues.append(Issue(VIOLATION, "unknown_key", detail, where, *at))


def _verify_chain(report: Report, chain_id: str, events: list[_Event]) -> ChainSummary:
    def issue(kind: str, detail: str, ev: _Event) -> None:
        seq = ev.data.get("seq")
        report.issues.append(
            Issue(VIOLATION, kind, detail, ev.where, chain_id, seq if isinstance(seq, int) else None)
        )

    by_seq: dict[int, _Event] = {}
    last_seq: int | None = None
    for ev in events:
        seq = ev.data["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            issue("chain_edit", "seq is not a position", ev)
            continue
        if event_hash(ev.data) != ev.data["hash"]:
            issue("chain_edit", "the event does not match its hash: it was edited", ev)
        if seq in by_seq:
            issue("chain_duplicate", f"seq {seq} appears twice", ev)
            continue
        if last_seq is not None and seq < last_seq:
            issue("chain_reorder", f"seq {seq} comes after seq {last_seq}", ev)
        by_seq[seq] = ev
        last_seq = seq if last_seq is None else max(last_seq, seq)
    if not by_seq:
        return ChainSummary(chain_id, len(events), -1, -1, GENESIS, 0, closed=False)
    order = sorted(by_seq)
    first, last = order[0], order[-1]
    if first != 0:
        issue(
            "chain_gap", f"the chain starts at seq {first}: events 0..{first - 1} are missing", by_seq[first]
        )
    elif by_seq[0].data["prev"] != GENESIS:
        issue("chain_break", "the first event does not start from the genesis hash", by_seq[0])
    for a, b in itertools.pairwise(order):
        if b != a + 1:
            issue("chain_gap", f"events {a + 1}..{b - 1} are missing", by_seq[b])
        elif by_seq[b].data["prev"] != by_seq[a].data["hash"]:
            issue("chain_break", f"seq {b} does not link to seq {a}: an event was replaced", by_seq[b])
    checkpoints = 0
    for seq in order:
        data = by_seq[seq].data
        if data.get("event") != CHECKPOINT:
            continue
        checkpoints += 1
        if data.get("head") != data["prev"] or data.get("count") != seq:
            issue(
                "checkpoint_mismatch", "the checkpoint's head or count does not match its place", by_seq[seq]
            )
    tail = by_seq[last].data
    closed = tail.get("event") == CHECKPOINT and tail.get("reason") == "shutdown"
    if not closed:
        report.issues.append(
            Issue(
                WARNING,
                "chain_open",
                f"the chain does not end with a shutdown checkpoint (last seq {last}): the process was "
                "still running or stopped abruptly, or the tail was cut; compare with a checkpoint file",
                by_seq[last].where,
                chain_id,
                last,
            )
        )
    return ChainSummary(chain_id, len(events), first, last, str(tail["hash"]), checkpoints, closed)


def _verify_signatures(
    report: Report, chain_id: str, events: list[_Event], keys: Mapping[str, Ed25519PublicKey]
) -> int:
    """Each checkpoint of the chain signed by a published key; the chain vouched for by one at
    least. Hashes anyone can recompute; a signature of a rewritten head needs the private key."""
    signed = 0
    for ev in events:
        if ev.data.get("event") != CHECKPOINT:
            continue
        problem = checkpoint_problem(ev.data, keys)
        if problem is None:
            signed += 1
            continue
        seq = ev.data.get("seq")
        detail = _SIGNATURE_PROBLEMS[problem]
        report.issues.append(
            Issue(VIOLATION, problem, detail, ev.where, chain_id, seq if isinstance(seq, int) else None)
        )
    if not signed:
        detail = "no checkpoint signed by a published key vouches for this chain"
        where = events[-1].where if events else ""
        report.issues.append(Issue(VIOLATION, "chain_unsigned", detail, where, chain_id))
    return signed


_SIGNATURE_PROBLEMS = {
    "checkpoint_unsigned": "the checkpoint carries no signature",
    "checkpoint_unknown_key": "the checkpoint is signed by a key that is not published",
    "checkpoint_forged": "the checkpoint's signature does not match its chain, position and head",
}


def _verify_checkpoints(
    report: Report,
    path: Path,
    chains: Mapping[str, list[_Event]],
    keys: Mapping[str, Ed25519PublicKey] | None = None,
) -> None:
    """Checkpoints kept apart from the log: each must find its event in the log (and, with
    keys, be signed by one of them)."""
    by_chain = {c: {e.data.get("seq"): e for e in evs} for c, evs in chains.items()}
    with path.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            cp = _parse(line)
            where = f"{path}:{n}"
            if cp is None or cp.get("event") != CHECKPOINT or event_hash(cp) != cp.get("hash"):
                report.issues.append(Issue(VIOLATION, "checkpoint_invalid", "not a valid checkpoint", where))
                continue
            chain, seq = str(cp.get("chain")), cp.get("seq")
            problem = checkpoint_problem(cp, keys) if keys is not None else None
            if problem is not None:
                at = seq if isinstance(seq, int) else None
                report.issues.append(
                    Issue(VIOLATION, problem, _SIGNATURE_PROBLEMS[problem], where, chain, at)
                )
            found = by_chain.get(chain, {}).get(seq)
            if found is None:
                have = max((s for s in by_chain.get(chain, {}) if isinstance(s, int)), default=-1) + 1
                detail = f"a checkpoint vouches for {seq} events before it; the log holds {have}: truncated"
                report.issues.append(Issue(VIOLATION, "chain_truncated", detail, where, chain, seq))
            elif found.data.get("hash") != cp["hash"]:
                detail = "the log's event at the checkpoint's position differs from the checkpoint"
                report.issues.append(Issue(VIOLATION, "checkpoint_mismatch", detail, found.where, chain, seq))


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _lifecycles(report: Report, audit: list[_Event], bound_ms: float) -> list[CheckLifecycle]:
    checks: dict[str, CheckLifecycle] = {}
    inventory_fields = {e.key_class.name: e.field_names() for e in inventory()}
    for ev in audit:
        d = ev.data
        name, check_id = str(d.get("event")), d.get("check_id")
        stored_class = _STORED_EVENTS.get(name)
        if stored_class is not None:
            unlisted = sorted(set(d.get("fields") or ()) - inventory_fields.get(stored_class, frozenset()))
            if unlisted:
                detail = f"{name} lists fields the inventory does not: {', '.join(map(str, unlisted))}"
                report.issues.append(Issue(VIOLATION, "field_not_in_inventory", detail, ev.where))
        if not isinstance(check_id, str):
            continue
        c = checks.setdefault(check_id, CheckLifecycle(check_id))
        c.events.append(name)
        c.client = c.client or d.get("client")
        if name == "check.started":
            c.started_at, c.jurisdiction, c.purpose = d.get("timestamp"), d.get("jur"), d.get("purpose")
        elif name == "evidence.received":
            kind = str(d.get("kind"))
            c.method = kind
            c.evidence.append(EvidenceSpan(kind, _int(d.get("attempt")), str(d.get("timestamp"))))
        elif name == "evidence.discarded":
            _discard(report, c, ev, bound_ms)
        elif name == "check.completed":
            c.outcome = str(d.get("outcome") or "open")
            c.completed_at, c.reason = d.get("timestamp"), d.get("reason")
            c.method = d.get("method_class") or c.method
        elif stored_class is not None:
            c.stored_fields = sorted(map(str, d.get("fields") or ()))
    for c in checks.values():
        for span in c.evidence:
            if span.discarded_at is None:
                detail = f"{span.kind} evidence (attempt {span.attempt}) received but never discarded"
                report.issues.append(Issue(VIOLATION, "evidence_not_discarded", detail, check_id=c.check_id))
    return list(checks.values())


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _discard(report: Report, c: CheckLifecycle, ev: _Event, bound_ms: float) -> None:
    d = ev.data
    attempt = _int(d.get("attempt"))
    open_spans = [s for s in c.evidence if s.discarded_at is None]
    span = next((s for s in open_spans if attempt is not None and s.attempt == attempt), None)
    span = span or next((s for s in open_spans if s.kind == d.get("kind")), None)
    if span is None:
        detail = "evidence discarded without a receipt (the log may start mid-request)"
        report.issues.append(Issue(WARNING, "discard_without_receipt", detail, ev.where, check_id=c.check_id))
        return
    span.discarded_at = str(d.get("timestamp"))
    start, end = _time(span.received_at), _time(span.discarded_at)
    if start is None or end is None:
        return
    span.lifetime_ms = round((end - start).total_seconds() * 1000, 3)
    if span.lifetime_ms > bound_ms:
        detail = f"{span.kind} evidence kept {span.lifetime_ms:.0f} ms (bound {bound_ms:.0f} ms)"
        report.issues.append(
            Issue(VIOLATION, "evidence_kept_too_long", detail, ev.where, check_id=c.check_id)
        )
