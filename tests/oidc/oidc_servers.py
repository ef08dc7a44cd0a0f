"""Identity providers on loopback for the eid_oidc tests: the real ``oidc-provider-mock`` in a
child process, and a server that accepts connections and never answers (a slow provider)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@contextmanager
def mock_idp(users: list[dict[str, Any]], *, claims_at_userinfo_only: bool = False) -> Iterator[str]:
    """Start oidc-provider-mock; yields its issuer URL (``http://127.0.0.1:<port>``).

    ``claims_at_userinfo_only``: the user's claims come from UserInfo alone (OIDC Core §5.4)."""
    flags = ["--claims-at-userinfo-only"] if claims_at_userinfo_only else []
    proc = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(HERE / "mock_idp_main.py"), json.dumps(users), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError("oidc-provider-mock did not start (is the dev extra installed?)")
        yield f"http://127.0.0.1:{line}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@contextmanager
def silent_server() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def closed_port() -> str:
    """A loopback URL where nothing listens (an identity provider that is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
