"""Every benchmark module imports: a helper renamed or moved elsewhere breaks the suite, not the
next person who runs the benchmark. (The benchmarks themselves are run by hand, never timed here.)"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
# Run as a script in another checkout's interpreter (bench/compare.py), never imported.
SCRIPTS = {"bench.compare_child"}
MODULES = sorted(
    ".".join(p.relative_to(BENCH.parent).with_suffix("").parts)
    for p in BENCH.rglob("*.py")
    if "out" not in p.relative_to(BENCH).parts and p.name != "__init__.py"
)


def test_the_benchmarks_are_found() -> None:
    assert {"bench.run", "bench.compare", "bench.authzen", "bench.decisions.run"} <= set(MODULES)


@pytest.mark.parametrize("name", [m for m in MODULES if m not in SCRIPTS])
def test_a_benchmark_module_imports(name: str) -> None:
    importlib.import_module(name)
