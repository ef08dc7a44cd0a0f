"""AuthZEN evaluation against ``POST /v1/decisions``, the same decision, one server, one run.

Usage: .venv/bin/python -m bench.authzen [--seconds 5] [--rounds 5] [--connections 4]

One ageband (``ageband serve`` on its embedded defaults, audit log on) answers both; wrk (one thread)
posts the same decision in each shape: an adult (band and level) viewing a minor's profile, and
an adult viewing an adult's (alternating bodies), and the same pair as an AuthZEN evaluation;
and a batch of 100 in each shape (``/v1/decisions/batch`` of 100 targets, ``/access/v1/
evaluations`` of 100). Rounds alternate the shapes so drift hits both; the median round and the
median of the ratios paired within each round are reported. Results: stdout and
bench/out/authzen.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from bench import servers
from bench.decisions.run import AUTH, OUT, _wrk

ADULT = {"band": "18_plus", "level": "effective"}
MINOR = {"band": "13_15"}


def _bodies(tmp: Path) -> dict[str, tuple[Path, ...]]:
    def write(name: str, body: object) -> Path:
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(body))
        return path

    def decision(target: dict[str, str]) -> dict[str, object]:
        return {"action": "profile.view", "jurisdiction": "GB", "actor": ADULT, "target": target}

    def evaluation(target: dict[str, str]) -> dict[str, object]:
        return {
            "subject": {"type": "user", "id": "u1", "properties": ADULT},
            "action": {"name": "profile.view"},
            "resource": {"type": "account", "id": "a1", "properties": target},
            "context": {"jurisdiction": "GB"},
        }

    targets = [MINOR if i % 2 else ADULT for i in range(100)]
    batch = {"action": "profile.view", "jurisdiction": "GB", "actor": ADULT,
             "targets": [{"id": str(i), **t} for i, t in enumerate(targets)]}  # fmt: skip
    evaluations = {
        "subject": {"type": "user", "id": "u1", "properties": ADULT}, "action": {"name": "profile.view"},
        "context": {"jurisdiction": "GB"},
        "evaluations": [{"resource": {"type": "account", "id": str(i), "properties": t}}
                        for i, t in enumerate(targets)],
    }  # fmt: skip
    return {
        "decisions": (write("d1", decision(MINOR)), write("d2", decision(ADULT))),
        "evaluation": (write("e1", evaluation(MINOR)), write("e2", evaluation(ADULT))),
        "decisions_batch": (write("db", batch),),
        "evaluations": (write("es", evaluations),),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=4)
    args = ap.parse_args()
    port = servers.free_port()
    server = servers.serve_ageband(port)
    base = f"http://127.0.0.1:{port}"
    paths = {"decisions": "/v1/decisions", "evaluation": "/access/v1/evaluation",
             "decisions_batch": "/v1/decisions/batch", "evaluations": "/access/v1/evaluations"}  # fmt: skip
    rounds: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bodies = _bodies(Path(tmp))
            for name, path in paths.items():  # warm-up
                _wrk(base + path, bodies[name], 1, args.connections, AUTH)
            for n in range(args.rounds):
                order = list(paths) if n % 2 == 0 else list(reversed(paths))
                rounds.append(
                    {
                        k: _wrk(base + paths[k], bodies[k], args.seconds, args.connections, AUTH)["rps"]
                        for k in order
                    }
                )
    finally:
        servers.stop(server)
    single = [r["evaluation"] / r["decisions"] for r in rounds]
    batch = [r["evaluations"] / r["decisions_batch"] for r in rounds]
    out = {
        "rounds": rounds,
        "median_rps": {k: statistics.median(r[k] for r in rounds) for k in paths},
        "evaluation_vs_decisions": statistics.median(single),
        "evaluations_vs_batch": statistics.median(batch),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "authzen.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
