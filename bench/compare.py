"""This checkout's request path against an earlier commit's: same harness, dependencies and hour.

Usage: .venv/bin/python -m bench.compare REF [--rounds 5] [--seconds 5] [--requests 100]
                                             [--no-http] [--no-instructions]

A figure recorded on an earlier day came from that day's harness, dependencies and machine; a
change in any of them moves it as much as a change in the code does. This compares code with
code, everything else held equal:

1. ``REF`` is exported (``git archive``) into ``bench/out/compare/<commit>/`` and installed into
   its own venv, with this checkout's versions of every dependency they share (``uv pip
   freeze`` of ``.venv`` as constraints): the code is what differs.
2. Instructions per request (callgrind, repeatable under load): a token refresh, a single
   decision and a whole self-declaration check, each counted in process in each checkout's own
   interpreter (``bench/compare_child.py``).
3. Over HTTP: the bare endpoint, ``REF`` and this checkout, each under uvicorn with the same
   flags (uvloop, httptools, no access log) on its embedded defaults, pinned to CPU 0 with wrk
   on the others. Every round drives the three in turn with the refresh, so each side's ratio to
   the bare endpoint is paired within a round, and the two sides share the machine's drift.

Writes ``bench/out/compare.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import servers
from bench.run import median_round, seed_sid, wrk
from bench.servers import free_port, pinned

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
UV = ROOT / ".tools" / "bin" / "uv"
KINDS = ("refresh", "decision", "check")
# The app each side serves: its own ``service`` (uvicorn's --app-dir comes first on the path).
FACTORY = """from service.app import create_app
from service.settings import Settings


def app():
    return create_app(Settings())
"""


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def checkout(ref: str) -> Path:
    """``ref`` exported and installed beside this checkout's dependency versions (kept for reuse)."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    where = OUT / "compare" / commit[:12]
    installed = where / ".installed"  # written last: a failed install is redone, not reused
    if installed.exists():
        return where
    if not UV.exists():
        sys.exit(f"{UV} is missing: run scripts/install first")
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    frozen = subprocess.run(
        [str(UV), "pip", "freeze", "--python", sys.executable], check=True, capture_output=True, text=True
    ).stdout
    pins = [line for line in frozen.splitlines() if line and not re.match(r"(?i)(ageband\b|-e )", line)]
    constraints = where / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(
        [str(UV), "venv", "-q", "--python", sys.executable, str(where / ".venv")], check=True, env=env
    )
    python = where / ".venv" / "bin" / "python"
    install = [str(UV), "pip", "install", "-q", "--python", str(python), "-e", str(where), "asgi-lifespan"]
    subprocess.run([*install, "-c", str(constraints)], check=True, env=env)
    installed.write_text(commit + "\n")
    return where


# Instructions ----------------------------------------------------------------------------
def instructions(side: Path, python: Path, requests: int) -> dict[str, Any]:
    """Instructions per request of each kind, for the checkout at ``side``."""
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is needed: apt-get install valgrind")
    with tempfile.TemporaryDirectory() as tmp:
        failures = Path(tmp) / "failures.json"
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/cg.%p"]
        cmd += [str(python), str(HERE / "compare_child.py"), str(requests), "200", str(failures)]
        done = subprocess.run(cmd, cwd=side, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").splitlines()[-20:]
            sys.exit(f"counting instructions at {side} failed:\n" + "\n".join(tail))
        counts: dict[str, Any] = {
            k: f"not answered: {v}" for k, v in json.loads(failures.read_text()).items()
        }
        for dump in Path(tmp).glob("cg.*.*"):
            text = dump.read_text(errors="replace")
            label = re.search(r"^desc: Trigger: Client Request: (\S+)", text, re.M)
            total = re.search(r"^totals: (\d+)", text, re.M)
            if label and total:
                counts[label.group(1)] = round(int(total.group(1)) / requests)
    return {k: counts.get(k) for k in KINDS}


# HTTP ------------------------------------------------------------------------------------
def serve(side: Path, python: Path, port: int, factory_dir: Path) -> subprocess.Popen[bytes]:
    cmd = [str(python), "-m", "uvicorn", "ageband_factory:app", "--factory", "--app-dir", str(side)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), *servers.UVICORN_FLAGS]
    env = {**os.environ, "AGEBAND_PEPPER": servers.PEPPER, "PYTHONPATH": str(factory_dir)}
    proc = subprocess.Popen(
        pinned("server", cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=side, env=env
    )
    servers.wait_port(proc, port, f"ageband at {side}")
    return proc


def http(sides: dict[str, tuple[Path, Path]], rounds: int, seconds: int, conns: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    servers.pin(no_pin=False)
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as factory_dir:
        (Path(factory_dir) / "ageband_factory.py").write_text(FACTORY)
        try:
            bare_port = free_port()
            procs.append(servers.serve_bare(bare_port))
            plan = {"bare": (f"http://127.0.0.1:{bare_port}", {"SID": "bare"})}
            for name, (side, python) in sides.items():
                port = free_port()
                procs.append(serve(side, python, port, Path(factory_dir)))
                base = f"http://127.0.0.1:{port}"
                plan[name] = (base, {"SID": seed_sid(base)})
            for base, env in plan.values():  # warm-up
                wrk(f"{base}/v1/tokens/refresh", "refresh.lua", 2, conns, env)
            runs: dict[str, list[dict[str, float]]] = {k: [] for k in plan}
            for _ in range(rounds):
                for name, (base, env) in plan.items():
                    runs[name].append(wrk(f"{base}/v1/tokens/refresh", "refresh.lua", seconds, conns, env))
        finally:
            for proc in procs:
                servers.stop(proc)
    bare = [r["rps"] for r in runs["bare"]]
    bare_median = median_round(runs["bare"])["rps"]
    result: dict[str, Any] = {"bare_rps_median_round": round(bare_median)}
    for name in sides:
        rps = [r["rps"] for r in runs[name]]
        paired = [round(a / b, 3) for a, b in zip(rps, bare, strict=True)]
        result[name] = {
            "refresh_rps_median_round": round(median_round(runs[name])["rps"]),
            "ratio_median_rounds": round(median_round(runs[name])["rps"] / bare_median, 3),
            "ratio_paired_median": statistics.median(paired),
            "ratio_paired_rounds": paired,
        }
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ref", help="the earlier commit (any git revision)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--requests", type=int, default=100, help="per kind, counted by callgrind")
    ap.add_argument("--no-http", action="store_true")
    ap.add_argument("--no-instructions", action="store_true")
    args = ap.parse_args()
    earlier = checkout(args.ref)
    sides = {
        f"ref {args.ref}": (earlier, earlier / ".venv" / "bin" / "python"),
        "this checkout": (ROOT, Path(sys.executable)),
    }
    result: dict[str, Any] = {
        "ref": args.ref,
        "ref_commit": _git("rev-parse", args.ref),
        "head": _git("rev-parse", "HEAD"),
    }
    result["load_average_before"] = servers.load_average()
    if not args.no_instructions:
        result["instructions_per_request"] = {
            name: instructions(side, python, args.requests) for name, (side, python) in sides.items()
        }
    if not args.no_http:
        result["http_refresh"] = http(sides, args.rounds, args.seconds, args.connections)
    result["load_average_after"] = servers.load_average()
    result["settings"] = vars(args)
    OUT.mkdir(exist_ok=True)
    (OUT / "compare.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
