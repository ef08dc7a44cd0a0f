"""Decisions benchmark: ageband's decision endpoints against a real Cerbos PDP, in one run.

Usage: .venv/bin/python -m bench.decisions.run [--seconds 5] [--rounds 3] [--connections 4]
                                               [--workers 1[,2]] [--store memory|redis] [--latency]

Same rule ("hide minor accounts from adults"), the same 1,000 targets (the peer's
requests.py, seed 1), the same client (wrk, one thread, the same connections and duration),
rounds interleaved so drift hits every server alike; the median round is reported, and the
median of the ratios paired within each round (the fairer figure on a shared machine). Also
measures the compiled evaluator in-process (one thread). Results: stdout and
bench/out/decisions.json. Cerbos 0.55.0 (npm @cerbos/cerbos-linux-x64, as the peer's start.sh
installs it) serves the peer's account.yaml on loopback. ageband runs as ``ageband serve
--workers N`` (one server per worker count given: their ratio is measured in the same run),
on the memory store or on a private Redis with AOF (several workers need Redis). ``--latency``
then drives single decisions open loop (bench/openloop.py) at 50% and 80% of each ageband
server's median saturated rate, for p50/p99/p99.9.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import servers
from bench.latency import at_fractions, write_request

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / "bench" / "out"
PEER = Path(os.environ.get("AGEBAND_CERBOS_PEER", ROOT.parent / "shared" / "peers" / "cerbos"))
AUTH = "ageband-demo-key"


def _wrk(url: str, body: tuple[Path, ...], seconds: int, conns: int, auth: str = "") -> dict[str, float]:
    cmd = ["wrk", "-t", "1", "-c", str(conns), "-d", f"{seconds}s", "-s", str(HERE / "post.lua"), url]
    cmd = servers.pinned("load", cmd)
    env = {
        **os.environ,
        "BODY_FILE": str(body[0]),
        "BODY_FILE2": str(body[1]) if len(body) > 1 else "",
        "AUTH": auth,
    }
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, errors, p50, p99 = (int(v) for v in line.split()[1:])
    if errors:
        raise RuntimeError(f"{url}: {errors} non-2xx responses:\n{out}")
    return {"rps": requests / seconds, "p50_ms": p50 / 1000, "p99_ms": p99 / 1000}


def _bodies(work: Path) -> dict[str, tuple[Path, ...]]:
    subprocess.run([sys.executable, str(PEER / "requests.py"), str(work), "1000", "1"], check=True)
    targets = json.loads((work / "targets.json").read_text())
    # Cerbos takes at most 500 resources per request: the same 1,000 targets as two halves.
    cerbos = json.loads((work / "batch.json").read_text())
    for half, part in (("a", slice(0, 500)), ("b", slice(500, 1000))):
        (work / f"cerbos_batch_{half}.json").write_text(
            json.dumps({**cerbos, "resources": cerbos["resources"][part]})
        )
    one = {
        "jurisdiction": "default", "action": "profile.view",
        "actor": {"band": "18_plus"}, "target": {"band": targets[0]["band"]},
    }  # fmt: skip
    batch = {**one, "targets": targets}
    del batch["target"]
    (work / "ageband_one.json").write_text(json.dumps(one))
    (work / "ageband_batch.json").write_text(json.dumps(batch))
    return {
        "cerbos_one": (work / "one.json",),
        "cerbos_batch": (work / "cerbos_batch_a.json", work / "cerbos_batch_b.json"),
        "ageband_one": (work / "ageband_one.json",),
        "ageband_batch": (work / "ageband_batch.json",),
    }


CERBOS_VERSION = "0.55.0"
CERBOS_HOME = Path(os.environ.get("CERBOS_HOME", Path.home() / ".cache" / "ageband-peers" / "cerbos"))


def _start_cerbos(port: int, work: Path) -> subprocess.Popen[bytes]:
    """The peer's policy and install (npm @cerbos/cerbos-linux-x64), with the per-request resource
    limit raised to its maximum, 500 (the default is 50)."""
    binary = CERBOS_HOME / "node_modules" / "@cerbos" / "cerbos-linux-x64" / "cerbos-linux-x64"
    if not binary.exists():
        CERBOS_HOME.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "init", "-y"], cwd=CERBOS_HOME, check=True, capture_output=True)
        subprocess.run(["npm", "install", "--silent", f"@cerbos/cerbos-linux-x64@{CERBOS_VERSION}"],
                       cwd=CERBOS_HOME, check=True, capture_output=True)  # fmt: skip
        binary.chmod(0o755)
    policies = work / "cerbos-policies"
    policies.mkdir(exist_ok=True)
    shutil.copy(PEER / "account.yaml", policies / "account.yaml")
    conf = work / "cerbos.yaml"
    conf.write_text(
        f"server:\n  httpListenAddr: 127.0.0.1:{port}\n  grpcListenAddr: 127.0.0.1:{port + 1}\n"
        "  requestLimits: {maxActionsPerResource: 50, maxResourcesPerRequest: 500}\n"
        f"storage:\n  driver: disk\n  disk: {{directory: {policies}, watchForChanges: false}}\n"
        "audit: {enabled: false}\ntelemetry: {disabled: true}\n"
    )
    log = (work / "cerbos.log").open("wb")
    proc = subprocess.Popen([str(binary), "server", f"--config={conf}"], stdout=log, stderr=log)
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_cerbos/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"Cerbos did not start; see {work / 'cerbos.log'}")


def _same_answers(cerbos: str, ageband: str, bodies: dict[str, tuple[Path, ...]]) -> int:
    """Both servers allow exactly the same targets: the comparison is of the same rule."""
    import httpx

    results = [
        r
        for half in bodies["cerbos_batch"]
        for r in httpx.post(cerbos, content=half.read_bytes()).json()["results"]
    ]
    allowed_c = [r["resource"]["id"] for r in results if r["actions"]["view"] == "EFFECT_ALLOW"]
    a = httpx.post(
        ageband, content=bodies["ageband_batch"][0].read_bytes(), timeout=30,
        headers={"Authorization": f"Bearer {AUTH}", "Content-Type": "application/json"},
    ).json()  # fmt: skip
    if allowed_c != a["allowed"]:
        raise RuntimeError("Cerbos and ageband disagree on the allowed targets")
    return len(allowed_c)


def in_process(seconds: float = 3.0) -> float:
    """Targets decided per second by the compiled tables, one thread: the batch loop itself."""
    from service.policy.loader import load_policy

    policy = load_policy(ROOT / "policies")
    targets = json.loads((OUT / "decisions-work" / "targets.json").read_text())
    keys = [(t["band"], None, None) for t in targets]
    row = policy.tables.for_actor("default", "profile.view", ("18_plus", None, None))
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        allowed = [k for k in keys if row[k].allowed]
        n += len(keys)
    assert allowed is not None
    return n / (time.perf_counter() - start)


def main() -> None:  # noqa: PLR0915 - one run, start to finish, reads best in one place
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=4)
    # Cerbos (Go) uses every core; ageband can be given as many workers (one server per count).
    ap.add_argument("--workers", default="1", help="worker counts, e.g. 1 or 1,2 (several need redis)")
    ap.add_argument(
        "--store", choices=("memory", "redis", "cluster"), default="memory", help="cluster: 3 primaries"
    )
    ap.add_argument("--latency", action="store_true", help="single-decision p50/p99 at 50%%/80%% load")
    ap.add_argument("--latency-seconds", type=int, default=10)
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    if max(workers) > 1 and args.store == "memory":
        sys.exit("several workers need --store redis (the memory store lives inside one process)")
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    if not (PEER / "account.yaml").exists():
        sys.exit(f"the Cerbos peer is missing: {PEER}")
    servers.pin(no_pin=True)  # Cerbos uses every core: nothing is pinned
    load_before = servers.load_average()
    work = OUT / "decisions-work"
    work.mkdir(parents=True, exist_ok=True)
    bodies = _bodies(work)
    latency: dict[str, dict[str, dict[str, float]]] = {}
    with contextlib.ExitStack() as stack:
        redis_url = (
            stack.enter_context(servers.private_redis(cluster=3 if args.store == "cluster" else 0))
            if args.store != "memory"
            else None
        )
        cerbos_port = servers.free_port()
        while not servers.bindable(cerbos_port + 1):  # Cerbos's gRPC listener takes the next port
            cerbos_port = servers.free_port()
        stack.callback(servers.stop, _start_cerbos(cerbos_port, work))
        ports = {}
        for n in workers:
            ports[n] = servers.free_port()
            stack.callback(servers.stop, servers.serve_ageband(ports[n], workers=n, redis_url=redis_url))
        cerbos = f"http://127.0.0.1:{cerbos_port}/api/check/resources"
        bases = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
        allowed = _same_answers(cerbos, f"{bases[workers[0]]}/v1/decisions/batch", bodies)
        plan = {"cerbos_one": (cerbos, bodies["cerbos_one"], "")}
        plan |= {
            f"ageband_one_w{n}": (f"{bases[n]}/v1/decisions", bodies["ageband_one"], AUTH) for n in workers
        }
        plan["cerbos_batch"] = (cerbos, bodies["cerbos_batch"], "")
        plan |= {
            f"ageband_batch_w{n}": (f"{bases[n]}/v1/decisions/batch", bodies["ageband_batch"], AUTH)
            for n in workers
        }
        for url, body, auth in plan.values():  # warm-up
            _wrk(url, body, 2, args.connections, auth)
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in plan}
        for _ in range(args.rounds):
            for name, (url, body, auth) in plan.items():
                runs[name].append(_wrk(url, body, args.seconds, args.connections, auth))
        med = {k: sorted(v, key=lambda r: r["rps"])[len(v) // 2] for k, v in runs.items()}
        if args.latency:
            one = bodies["ageband_one"][0].read_bytes()
            req = write_request(work, "ageband_one", "/v1/decisions", one, AUTH)
            for n in workers:
                rps = med[f"ageband_one_w{n}"]["rps"]
                latency[f"ageband_one_w{n}"] = at_fractions(ports[n], [req], rps, args.latency_seconds)
    # On a shared, noisy machine the fairest ratio pairs the servers within each round.
    paired: dict[str, list[float]] = {}
    for n in workers:
        paired[f"single_w{n}"] = [
            a["rps"] / c["rps"] for a, c in zip(runs[f"ageband_one_w{n}"], runs["cerbos_one"], strict=True)
        ]
        paired[f"batch_w{n}"] = [
            a["rps"] * 1000 / (c["rps"] * 500)
            for a, c in zip(runs[f"ageband_batch_w{n}"], runs["cerbos_batch"], strict=True)
        ]
    for n in workers[1:]:
        for kind in ("one", "batch"):
            base = runs[f"ageband_{kind}_w{workers[0]}"]
            paired[f"{kind}_w{n}_vs_w{workers[0]}"] = [
                a["rps"] / b["rps"] for a, b in zip(runs[f"ageband_{kind}_w{n}"], base, strict=True)
            ]
    local = in_process()
    result = {
        "store": args.store,
        "workers": workers,
        "batch_targets_per_s": {"cerbos": round(med["cerbos_batch"]["rps"] * 500)}
        | {f"ageband_w{n}": round(med[f"ageband_batch_w{n}"]["rps"] * 1000) for n in workers},
        "batch_ratio": {
            f"w{n}": round(med[f"ageband_batch_w{n}"]["rps"] * 1000 / (med["cerbos_batch"]["rps"] * 500), 2)
            for n in workers
        },
        "single_rps": {"cerbos": round(med["cerbos_one"]["rps"])}
        | {f"ageband_w{n}": round(med[f"ageband_one_w{n}"]["rps"]) for n in workers},
        "single_ratio": {
            f"w{n}": round(med[f"ageband_one_w{n}"]["rps"] / med["cerbos_one"]["rps"], 2) for n in workers
        },
        "per_round_ratios": {k: [round(x, 2) for x in v] for k, v in paired.items()},
        "median_per_round_ratio": {k: round(statistics.median(v), 2) for k, v in paired.items()},
        "in_process_targets_per_s": round(local),
        "allowed_of_1000": allowed,
        "saturated_latency_ms": {k: {"p50": v["p50_ms"], "p99": v["p99_ms"]} for k, v in med.items()},
        "open_loop_latency_ms": latency,
        "all_rounds_rps": {k: [round(r["rps"], 1) for r in v] for k, v in runs.items()},
        "load_average": {"before": load_before, "after": servers.load_average()},
        "settings": {"seconds": args.seconds, "rounds": args.rounds, "wrk_threads": 1,
                     "connections": args.connections, "targets": 1000},
    }  # fmt: skip
    name = f"decisions-{args.store}-w{'_'.join(map(str, workers))}.json"
    (OUT / name).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
