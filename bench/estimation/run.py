"""Local facial age estimation: latency per image (p50, p95) and peak memory.

Each image size runs in a fresh interpreter, so its peak RSS (``ru_maxrss``) is that
workload's alone: the model loaded, then ``--runs`` estimates of the same photo through the
provider's whole path (base64 decode, type and size checks, decode and scale, detection,
estimation). The first estimate, which loads the model, is reported apart.

    .venv/bin/python -m bench.estimation.run --runs 30
    # writes bench/out/estimation.json
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "out" / "estimation.json"
# (label, longest side in pixels, format): a test portrait, and phone-sized photos of it.
SIZES = [("512 px PNG", 512, "PNG"), ("1280 px JPEG", 1280, "JPEG"), ("4032 px JPEG (12 MP)", 4032, "JPEG")]


def _photo(side: int, fmt: str) -> str:
    from PIL import Image
    from skimage import data

    portrait = Image.fromarray(data.astronaut())
    if side != portrait.width:
        # The portrait centred on a wider grey frame, as a phone photo with a face in it.
        frame = Image.new("RGB", (side, side * 3 // 4), (128, 128, 128))
        face = portrait.resize((side // 3, side // 3))
        frame.paste(face, ((side - face.width) // 2, (frame.height - face.height) // 2))
        portrait = frame
    out = io.BytesIO()
    portrait.save(out, format=fmt, quality=95)
    return base64.b64encode(out.getvalue()).decode()


def _one(side: int, fmt: str, runs: int) -> dict[str, Any]:
    import anyio

    from providers.base import MethodParams, ProviderContext, Signal
    from providers.local_estimation import LocalEstimationProvider
    from service.core.bands import Band, BandSet

    bands = BandSet(
        [Band("under_13", 0, 12), Band("13_15", 13, 15), Band("16_17", 16, 17), Band("18_plus", 18, None)]
    )
    ctx = ProviderContext(time_now(), bands, MethodParams("facial_estimation", 5.0, 2.0, 6.0, False))
    image = _photo(side, fmt)
    provider = LocalEstimationProvider("facial_estimation", {})
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    async def main() -> dict[str, Any]:
        started = time.perf_counter()
        first = await provider.submit({"image": image}, ctx)
        cold = time.perf_counter() - started
        times = []
        outcome = first
        for _ in range(runs):
            started = time.perf_counter()
            outcome = await provider.submit({"image": image}, ctx)
            times.append(time.perf_counter() - started)
        times.sort()
        return {
            "first_ms": round(cold * 1000, 1),
            "p50_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)] * 1000, 1),
            "outcome": str(outcome.interval) if isinstance(outcome, Signal) else repr(outcome),
        }

    result = anyio.run(main)
    result["bytes"] = len(base64.b64decode(image))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["rss_before_mb"] = round(rss_before / 1024, 1)
    return result


def time_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one(int(args.child[0]), args.child[1], args.runs)))
        return
    results = []
    for label, side, fmt in SIZES:
        command = [sys.executable, "-m", "bench.estimation.run", "--runs", str(args.runs)]
        command += ["--child", str(side), fmt]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        row = {"image": label, **json.loads(done.stdout.strip().splitlines()[-1])}
        results.append(row)
        print(json.dumps(row))
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"runs": args.runs, "results": results}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
