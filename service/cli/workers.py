"""What ``ageband serve --workers N`` needs before it forks: a store all workers share, and
development secrets that every worker reads alike.

A single process generates its development signing key and pepper in memory. Several
workers would each generate their own, so a token signed by one would not verify on the
next, and a subject's sid would differ per worker. The parent makes them once and hands
them to the workers through the environment: the pepper as ``AGEBAND_PEPPER`` and the key
as a file in a private temporary folder, deleted when the service stops.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.settings import Settings
from service.tokens.keys import KeyState, generate_key, write_key


def worker_refusals(settings: Settings, workers: int) -> list[str]:
    """Why these settings cannot run as several processes, each with what to set instead."""
    refusals = []
    if settings.store.backend == "memory":
        refusals.append(
            "the memory store lives inside one process, so a check started on one worker would "
            "be unknown to the next: set AGEBAND_STORE__BACKEND=redis and AGEBAND_STORE__REDIS_URL"
        )
    if settings.dev_clock:
        refusals.append("the settable clock lives inside one process: run --dev-clock with one worker")
    return refusals


@contextmanager
def shared_development_secrets(settings: Settings) -> Iterator[list[str]]:
    """Set the environment so that every worker uses the same development key and pepper.

    Yields the warnings to show; production settings name their own and get none.
    """
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ageband-dev-") as folder:
        if settings.pepper is None:
            os.environ["AGEBAND_PEPPER"] = secrets.token_urlsafe(32)
            notes.append("a random pepper shared by the workers: sids change on restart; set AGEBAND_PEPPER")
        if not settings.tokens.keys and settings.tokens.keys_file is None:
            key = generate_key(settings.tokens.dev_key_alg, state=KeyState.active)
            path = Path(folder) / "development-signing-key.pem"
            write_key(key, path, "pem")  # mode 0600 inside a 0700 folder
            os.environ["AGEBAND_TOKENS__KEYS"] = json.dumps([{"path": str(path), "state": "active"}])
            notes.append(
                f"DEVELOPMENT SIGNING KEY {key.kid}, generated for this run and shared by the workers; "
                "tokens die with the service; never use in production"
            )
        yield notes
