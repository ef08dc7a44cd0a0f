"""Test-wide set-up: tests import shared builders from tests/factories.py.

At the end of a session, every answer a test app gave (``tests/answers.py``) must be documented
in openapi.yaml; pytest-xdist workers hand theirs to the controller, which checks them all.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import answers

_FROM_WORKERS: set[answers.Answer] = set()
_NO_RETRY_AFTER_FROM_WORKERS: set[answers.Answer] = set()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist, on the controller: a worker's answers, sent at its session's end."""
    sent = getattr(node, "workeroutput", {}).get("answered")
    if sent:
        _FROM_WORKERS.update(tuple(a) for a in json.loads(sent))
    bare = getattr(node, "workeroutput", {}).get("no_retry_after")
    if bare:
        _NO_RETRY_AFTER_FROM_WORKERS.update(tuple(a) for a in json.loads(bare))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller checks
        workeroutput["answered"] = json.dumps(sorted(answers.ANSWERED))
        workeroutput["no_retry_after"] = json.dumps(sorted(answers.NO_RETRY_AFTER))
        return
    doc = answers.load_document(Path(__file__).resolve().parent.parent / "openapi.yaml")
    missing = answers.undocumented(answers.ANSWERED | _FROM_WORKERS, doc)
    if missing:
        write = session.config.get_terminal_writer().line
        write("")
        write("Answers not documented in openapi.yaml. Declare the error class with @raises beside", red=True)
        write(
            "its route, add a scenario to tests/api/test_openapi_contract.py, regenerate the file:", red=True
        )
        for line in missing:
            write(f"  {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    bare = sorted(answers.NO_RETRY_AFTER | _NO_RETRY_AFTER_FROM_WORKERS)
    if bare:
        write = session.config.get_terminal_writer().line
        write("")
        write("503s answered without Retry-After (service/api/problems.py adds it to every 503):", red=True)
        for method, route, _, code in bare:
            write(f"  {method} {route} {code}".rstrip(), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
