"""The HTML report opens offline in headless Chromium and renders with no console error.

Needs the Debian packages chromium and chromium-driver (./scripts/test and .ci/run install
them); this test installs nothing and fails with a clear message when they are missing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from privacy_logs import flows_log, read_events, write_events
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from typer.testing import CliRunner

from service.cli.main import app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def browser(profile: Path) -> webdriver.Chrome:
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
        f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


def render(log: Path, out: Path) -> int:
    result = CliRunner().invoke(app, ["privacy", "report", "--html", str(out), str(log)])
    return result.exit_code


@pytest.mark.anyio
async def test_html_report_renders_offline_without_console_errors(tmp_path: Path) -> None:
    clean = await flows_log(tmp_path / "log.jsonl")
    events = read_events(clean)
    events.append({"event": "request", "level": "info", "detail": "<script>alert(1)</script> a@b.example"})
    dirty = write_events(tmp_path / "dirty.jsonl", events)
    pages = {"clean": tmp_path / "clean.html", "dirty": tmp_path / "dirty.html"}
    assert render(clean, pages["clean"]) == 0
    assert render(dirty, pages["dirty"]) == 1
    text = pages["dirty"].read_text()
    assert "<script" not in text and "a@b.example" not in text  # escaped, and never the value
    assert "http://" not in text and "https://" not in text  # nothing to fetch

    driver = browser(tmp_path / "profile")
    try:
        seen = {}
        for name, page in pages.items():
            driver.get(page.as_uri())
            seen[name] = driver.find_element(By.ID, "verdict").text
            errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
            assert errors == [], json.dumps(errors)
            assert driver.find_elements(By.TAG_NAME, "table")
    finally:
        driver.quit()
    assert seen["clean"] == "No violations found."
    assert "violation" in seen["dirty"]
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
