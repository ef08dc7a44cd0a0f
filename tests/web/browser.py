"""Real Chromium against the real app: the service on a loopback port (uvicorn, in a thread, with
a pinned clock), the app's return page on another, and one headless Chromium per test process.

Chromium runs with a fake camera that plays a ``.y4m`` made from a bundled face photo, and
grants the camera without asking. Anything the browser logs as an error fails the test that
caused it: a Content Security Policy violation is such an error, and so is a failed request.
Screenshots of failing tests go to ``AGEBAND_TEST_ARTIFACTS`` (default ``.artifacts/``).

Needs the Debian packages chromium and chromium-driver (./scripts/test installs them); this
module installs nothing and fails clearly when they are missing.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from factories import PINNED
from PIL import Image
from redis_server import free_port
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from service.api.services import Services
from service.app import create_app
from service.core.clock import Clock, FixedClock
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 A and AA, as axe-core tags them.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FAILED = pytest.StashKey[bool]()  # set by conftest.py's report hook: screenshot on failure
ARTIFACTS = Path(os.environ.get("AGEBAND_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / ".artifacts"))


def y4m(photo: bytes, path: Path, size: int = 480) -> Path:
    """One 4:2:0 frame (Chromium loops it) of ``photo``, square, for the fake camera."""
    image = Image.open(io.BytesIO(photo)).convert("RGB").resize((size, size))
    y, cb, cr = (np.asarray(p) for p in image.convert("YCbCr").split())
    half = (size // 2, size // 2)
    u = np.asarray(Image.fromarray(cb).resize(half, Image.Resampling.BOX))
    v = np.asarray(Image.fromarray(cr).resize(half, Image.Resampling.BOX))
    header = f"YUV4MPEG2 W{size} H{size} F30:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n" + y.tobytes() + u.tobytes() + v.tobytes())
    return path


def chromium(profile: Path, camera: Path) -> webdriver.Chrome:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.fail(
            f"{CHROMIUM} or {CHROMEDRIVER} is missing: install the Debian packages "
            "chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1024,900", f"--user-data-dir={profile}",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


def errors(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """What the browser logged as an error or warning since the last call (the log drains)."""
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def assert_clean(driver: webdriver.Chrome) -> None:
    found = errors(driver)
    assert found == [], "browser errors (a CSP violation is one): " + json.dumps(found, indent=1)


def axe_violations(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 AA violations on the current page (its rule ids and the nodes)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci in the repository (./scripts/test does)")
    # WebDriver evaluates scripts outside the page's CSP, so the page needs no exception for it.
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))),"
        " e => done([{id: 'axe-error', nodes: [String(e)]}]));",
        AXE_TAGS,
    )
    return found


def assert_accessible(driver: webdriver.Chrome) -> None:
    found = axe_violations(driver)
    assert found == [], f"axe-core on {driver.current_url}: " + json.dumps(found, indent=1)


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name.replace('/', '_').replace('::', '-')}.png"
    driver.save_screenshot(str(path))
    return path


@dataclass
class Served:
    url: str
    services: Services
    logs: io.StringIO


@contextmanager
def serve(settings: Settings, *, port: int | None = None, clock: Clock | None = None) -> Iterator[Served]:
    """The app on a loopback port (a free one unless given, e.g. one its public URL names), in a
    thread, with a pinned clock unless given another (credentials are checked at today's date)."""
    logs = io.StringIO()
    app = create_app(settings, clock=clock or FixedClock(PINNED), log_sink=logs)
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start:\n" + logs.getvalue()[-3000:])
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", app.state.services, logs)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


class _Landing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><html lang=en><title>App</title><h1 id=landed>Back in the app</h1></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@contextmanager
def landing() -> Iterator[str]:
    """The app's return page, on loopback; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Landing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
