"""The privacy report as one self-contained HTML page: inline CSS, no script, no external resource.

A Content-Security-Policy of ``default-src 'none'`` in the page itself proves it: a browser
that opens it offline loads nothing else.
"""

from __future__ import annotations

from html import escape
from typing import Any

from service.privacy.report import Report

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;
padding:0 1rem;color:#1b1f24;background:#fff}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:.3rem 0 1rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em;word-break:break-all}
.verdict{padding:.8rem 1rem;border-radius:6px;font-weight:600;margin:1rem 0}
.ok{background:#dafbe1;color:#116329}.bad{background:#ffebe9;color:#a40e26}.muted{color:#57606a}
"""


_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def render_html(report: Report, *, title: str = "ageband privacy report") -> str:
    data = report.as_dict()
    stats = data["statistics"]
    lifetime = stats["evidence_lifetime"]
    violations, warnings = data["violations"], data["warnings"]
    verdict = (
        '<div class="verdict ok" id="verdict">No violations found.</div>'
        if data["ok"]
        else f'<div class="verdict bad" id="verdict">{len(violations)} violation(s) found.</div>'
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">{data["lines"]} log lines, {data["audit_events"]} audit events, '
        f"{len(data['chains'])} chain(s), {stats['checks']} check(s). Files: "
        + ", ".join(f"<code>{escape(f)}</code>" for f in data["files"])
        + "</p>",
        verdict,
        "<h2>Chains</h2>",
        _table(
            ["chain", "events", "seq", "checkpoints", "closed", "head"],
            [
                [
                    _code(c["chain"]),
                    _num(c["events"]),
                    f"{c['first_seq']}..{c['last_seq']}",
                    _num(c["checkpoints"]),
                    "yes" if c["closed"] else "no",
                    _code(c["head"]),
                ]
                for c in data["chains"]
            ],
        ),
        f"<h2>Violations ({len(violations)})</h2>",
        _issues(violations),
        f"<h2>Warnings ({len(warnings)})</h2>",
        _issues(warnings),
        "<h2>Checks by method and outcome</h2>",
        _table(
            ["method", "outcome", "checks"],
            [
                [escape(m), escape(o), _num(n)]
                for m, outcomes in stats["checks_by_method_and_outcome"].items()
                for o, n in outcomes.items()
            ],
        ),
        "<h2>Evidence lifetime</h2>",
        _table(
            ["spans", "p50 (ms)", "max (ms)", "bound (ms)"],
            [[_num(lifetime[k]) for k in ("count", "p50_ms", "max_ms", "bound_ms")]],
        ),
        "<h2>Events by type</h2>",
        _table(["event", "count"], [[_code(k), _num(v)] for k, v in stats["events_by_type"].items()]),
        "<h2>Check lifecycles</h2>",
        _table(
            ["check", "client", "method", "outcome", "evidence (ms)", "events"],
            [
                [
                    _code(c["check_id"]),
                    escape(str(c["client"])),
                    escape(str(c["method"])),
                    escape(c["outcome"]),
                    escape(", ".join(str(e["lifetime_ms"]) for e in c["evidence"])),
                    escape(" → ".join(c["events"])),
                ]
                for c in data["checks"][:2000]
            ],
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _issues(issues: list[dict[str, Any]]) -> str:
    if not issues:
        return '<p class="muted">None.</p>'
    rows = [
        [
            _code(i["kind"]),
            escape(i["detail"]),
            _code(i["where"] or ""),
            _code(i["chain"] or ""),
            "" if i["seq"] is None else _num(i["seq"]),
            _code(i["check_id"] or ""),
        ]
        for i in issues[:5000]
    ]
    return _table(["kind", "detail", "where", "chain", "seq", "check"], rows)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(content: str) -> str:
    if content.startswith('<td class="n">'):
        return content
    return f"<td>{content}</td>"


def _num(value: Any) -> str:
    return f'<td class="n">{escape("–" if value is None else str(value))}</td>'


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>"
