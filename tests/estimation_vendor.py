"""A local HTTP server that speaks the age-estimation vendor API ``http_estimation`` targets.

The documented shape: ``POST /age`` and ``POST /age-antispoofing`` with
``{"img": <base64 JPEG>, "metadata": {"device": ...}}``, answering
``{"age": {"age": float, "st_dev": float}, "antispoofing": {"prediction": ...}}``, or a
4xx with ``{"error_code": ...}``. It checks what the vendor would: the auth header, that
``img`` is a decodable JPEG or PNG, the device value, and the documented size limits (at most
2000 px a side and 2,100,000 pixels: ``MAX_WIDTH``, ``MAX_HEIGHT``, ``MAX_PIXELS``).

Its "model" reads the image's mean colour, so a test picks the estimate by painting a
solid image with ``face(age, st_dev, prediction)``: red = 4·age, green = 20·st_dev, blue
picks the anti-spoofing prediction. A black image has no face, a white one several.

The first path segment picks how the server behaves, so one server serves every scenario:
``/ok`` answers as documented; ``/status/<code>`` answers that status; ``/flaky/<n>/<key>``
answers 503 to the first n calls for a key; ``/slow/<seconds>`` waits before answering;
``/drip`` dribbles its answer a byte at a time; ``/huge`` answers with several MB, and
``/huge-chunked`` with several MB and no Content-Length; ``/malformed`` answers invalid JSON;
``/missing`` leaves out ``st_dev``; ``/closed`` closes the connection without answering.

It keeps HTTP/1.1 connections open between requests, and counts them: ``connections`` accepted
so far, ``open_peers`` (client ports) still open, and each request's ``peer``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageStat

AUTH_HEADER = "X-Yoti-Auth-Id"
AUTH_VALUE = "3f2c6f4e-vendor-test-sdk-id"
PREDICTIONS = {"real": 32, "fake": 128, "undetermined": 224}
MAX_SIDE = 2000
MAX_PIXELS = 2_100_000


def face(
    age: float = 30, st_dev: float = 2, prediction: str = "real", *, fmt: str = "PNG", size: int = 96
) -> bytes:
    """A solid image the fake vendor estimates as ``age ± st_dev`` with ``prediction``."""
    colour = (round(age * 4), round(st_dev * 20), PREDICTIONS[prediction])
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format=fmt)
    return out.getvalue()


def face_b64(age: float = 30, st_dev: float = 2, prediction: str = "real", **kw: Any) -> str:
    return base64.b64encode(face(age, st_dev, prediction, **kw)).decode("ascii")


def no_face() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 96), (0, 0, 0)).save(out, format="PNG")
    return out.getvalue()


def many_faces() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 96), (255, 255, 255)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    image: bytes
    peer: int  # the client's port: one per connection


@dataclass
class Vendor:
    server: ThreadingHTTPServer
    thread: threading.Thread
    received: list[Received] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    open_peers: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def base(self, scenario: str = "ok") -> str:
        return f"{self.url}/{scenario}"

    def config(self, scenario: str = "ok", **extra: Any) -> dict[str, Any]:
        # The longest waits the provider allows: a loaded test machine must not read as a slow
        # vendor. Tests of the timeouts themselves pass their own.
        patient = {"timeout_seconds": 5.0, "connect_timeout_seconds": 5.0}
        return {"base_url": self.base(scenario), "auth_value": AUTH_VALUE, **patient, **extra}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _estimate(image: Image.Image) -> tuple[int, dict[str, Any]]:
    r, g, b = (round(v) for v in ImageStat.Stat(image.convert("RGB")).mean)
    if max(r, g, b) < 8:
        return 400, {"error_code": "FACE_NOT_FOUND"}
    if min(r, g, b) > 248:
        return 400, {"error_code": "MULTIPLE_FACES"}
    prediction = min(PREDICTIONS, key=lambda p: abs(PREDICTIONS[p] - b))
    # Whole numbers: a solid colour survives JPEG re-encoding to within a unit or two.
    estimate = {"age": float(round(r / 4)), "st_dev": float(round(g / 20))}
    return 200, {"age": estimate, "antispoofing": {"prediction": prediction}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Quiet: the tests read what was received, not a log."""

    def setup(self) -> None:  # once per connection (a handler serves all of its requests)
        super().setup()
        vendor = self.server.vendor
        with vendor.lock:
            vendor.connections += 1
            vendor.open_peers.add(self.client_address[1])

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            vendor = self.server.vendor
            with vendor.lock:
                vendor.open_peers.discard(self.client_address[1])

    def do_POST(self) -> None:
        vendor = self.server.vendor
        parts = self.path.strip("/").split("/")
        scenario, endpoint = parts[0], "/" + parts[-1]
        vendor.calls[self.path] += 1
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if scenario == "closed":
            self.close_connection = True
            self.connection.close()
            return
        if scenario == "status":
            self._send(int(parts[1]), {"error_code": "TEST_STATUS"})
            return
        if scenario == "flaky" and vendor.calls[self.path] <= int(parts[1]):
            self._send(503, {"error_code": "SERVICE_UNAVAILABLE"})
            return
        if scenario == "slow":
            time.sleep(float(parts[1]))
        if self.headers.get(AUTH_HEADER) != AUTH_VALUE:
            self._send(401, {"error_code": "INVALID_X_YOTI_AUTH_ID"})
            return
        status, answer = self._answer(raw, endpoint)
        if status != 200:
            self._send(status, answer)
            return
        if scenario == "huge":
            self._send(200, {**answer, "padding": "x" * 8_000_000})
        elif scenario == "huge-chunked":
            self._send_chunked(json.dumps({**answer, "padding": "x" * 8_000_000}).encode())
        elif scenario == "malformed":
            self._send_raw(200, b'{"age": {"age": 31.2, "st_dev": ')
        elif scenario == "missing":
            self._send(200, {**answer, "age": {"age": answer["age"]["age"]}})
        elif scenario == "drip":
            self._drip(json.dumps(answer).encode())
        else:
            self._send(200, answer)

    def _answer(self, raw: bytes, endpoint: str) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(raw)
            image_bytes = base64.b64decode(body["img"], validate=True)
            image = Image.open(io.BytesIO(image_bytes), formats=["JPEG", "PNG"])
            image.load()
        except (ValueError, KeyError, TypeError, OSError, binascii.Error):
            return 400, {"error_code": "INVALID_B64_IMAGE"}
        device = body.get("metadata", {}).get("device", "unknown")
        if device not in {"mobile", "laptop", "unknown"}:
            return 400, {"error_code": "INVALID_METADATA"}
        received = Received(self.path, dict(self.headers.items()), body, image_bytes, self.client_address[1])
        self.server.vendor.received.append(received)
        width, height = image.size
        if width > MAX_SIDE or height > MAX_SIDE:
            return 400, {"error_code": "MAX_WIDTH" if width > MAX_SIDE else "MAX_HEIGHT"}
        if width * height > MAX_PIXELS:
            return 400, {"error_code": "MAX_PIXELS"}
        status, answer = _estimate(image)
        if status == 200 and endpoint == "/age":
            answer.pop("antispoofing")
        return status, answer

    def _send(self, status: int, body: dict[str, Any]) -> None:
        self._send_raw(status, json.dumps(body).encode())

    def _send_raw(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up (e.g. it hit its size cap)

    def _send_chunked(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for i in range(0, len(data), 65536):
                chunk = data[i : i + 65536]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def _drip(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            for i in range(len(data)):
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    vendor: Vendor


def start_vendor() -> Vendor:
    """Start the fake vendor on a free loopback port, in a background thread."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, name="estimation-vendor", daemon=True)
    vendor = Vendor(server, thread)
    server.vendor = vendor
    thread.start()
    return vendor


_shared: Vendor | None = None
_lock = threading.Lock()


def shared_vendor() -> Vendor:
    """One vendor per test process, started on first use (the conformance cases need it at import)."""
    global _shared  # noqa: PLW0603 - a process-wide server, started lazily
    with _lock:
        if _shared is None:
            _shared = start_vendor()
        return _shared
