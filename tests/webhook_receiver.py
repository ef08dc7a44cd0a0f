"""A real webhook receiver on loopback: it verifies Standard Webhooks signatures with the
reference library and applies each event's effect once per ``webhook-id``, as an app should.

Behaviour is set per test: ``fail_first`` answers 500 to the first n requests, ``status`` answers
that status to every request, ``hang_on_type`` holds requests for one event type ``hang_s``
seconds before answering (so a test can kill the sender mid-delivery).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Receiver:
    secret: str
    server: ThreadingHTTPServer
    fail_first: int = 0
    status: int = 200
    hang_on_type: str | None = None
    hang_s: float = 0.0
    requests: int = 0
    arrivals: Counter[str] = field(default_factory=Counter)  # webhook-id -> deliveries seen
    effects: dict[str, dict[str, Any]] = field(default_factory=dict)  # webhook-id -> payload, once
    rejected: int = 0  # requests whose signature did not verify
    timestamps: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.effects.values() if event_type is None or e["type"] == event_type]

    def wait_for(
        self, count: int, timeout: float = 10.0, event_type: str | None = None
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.events(event_type)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"expected {count} webhook effects, got {len(self.events(event_type))}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        return

    def do_POST(self) -> None:
        rx = self.server.receiver
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = Webhook(rx.secret).verify(body, headers)
        except WebhookVerificationError:
            with rx.lock:
                rx.rejected += 1
            self._answer(400)
            return
        event_id = headers["webhook-id"]
        with rx.lock:
            rx.requests += 1
            n = rx.requests
            rx.arrivals[event_id] += 1
            rx.timestamps.append(int(headers["webhook-timestamp"]))
        if rx.hang_on_type is not None and payload["type"] == rx.hang_on_type and rx.arrivals[event_id] == 1:
            time.sleep(rx.hang_s)
        if n <= rx.fail_first:
            self._answer(500)
            return
        if rx.status != 200:
            self._answer(rx.status)
            return
        with rx.lock:
            rx.effects.setdefault(event_id, payload)  # idempotent on the event id
        self._answer(204)

    def _answer(self, status: int) -> None:
        try:
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
        except OSError:
            pass  # the sender went away (a killed worker): nothing to answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


def start_receiver(secret: str | None = None) -> Receiver:
    server = _Server(("127.0.0.1", 0), _Handler)
    receiver = Receiver(secret or new_secret(), server)
    server.receiver = receiver
    threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True).start()
    return receiver


def webhook_clients_file(directory: Any, receiver: Receiver, api_key: str, admin_key: str) -> Any:
    """A clients file: client ``demo`` (``api_key``) with the receiver as its webhook, admin ``ops``."""
    from service.clients.registry import hash_key

    doc = {
        "clients": [
            {
                "id": "demo",
                "api_keys": [hash_key(api_key)],
                "jurisdictions": ["*"],
                "webhook": {"url": receiver.url, "secret": receiver.secret},
            }
        ],
        "admins": [{"id": "ops", "api_keys": [hash_key(admin_key)]}],
    }
    path = directory / "clients.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
