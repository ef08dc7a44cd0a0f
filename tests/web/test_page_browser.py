"""The check page in real Chromium: a user completes a check and lands on the app's return URL.

Three scenarios, one browser: a keyboard-only self-declaration; a selfie through Chromium's fake
camera (a ``.y4m`` of a bundled public-domain portrait) against the local estimator; and a step
up from an inconclusive estimate (the vendor double, through the file-input fallback) to the
next method. Every page they pass through must log no error (a CSP violation is one), and what
the user typed or showed must be nowhere afterwards: not in the store, not in the logs.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from browser import (
    FAILED,
    Served,
    assert_accessible,
    assert_clean,
    chromium,
    errors,
    landing,
    screenshot,
    serve,
    y4m,
)
from credential_factory import Pki, verifier_signing
from dc_wallet import request_claims, sealed_answer
from estimation_photos import astronaut
from estimation_vendor import face, shared_vendor
from factories import AUTH, default_waterfall_line, make_settings, write_policy
from page_setup import page_clients
from redis_server import free_port
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from service.core.clock import SystemClock

WAIT = 30  # seconds: a loaded machine, a model to load
SIGNING = verifier_signing()  # the wallet step's request signing key and certificate

# A jurisdiction that asks for a selfie first, then a year of birth.
SELFIE_FIRST = """
  selfie:
    extends: default
    description: Face first.
    waterfall: [facial_estimation, self_declaration]
"""


@dataclass
class Site:
    local: Served  # facial estimation by the bundled model
    vendor: Served  # facial estimation by the vendor double
    back: str  # the app's return URL


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("page-site")
    policy = write_policy(folder, append=SELFIE_FIRST)
    with landing() as app_url:
        back = app_url + "/done"
        clients = page_clients(folder, return_urls=[back])

        def settings(instance: dict[str, object]) -> object:
            return make_settings(
                clients_file=clients, policy_path=policy,
                providers={"enabled": ["os_signal", "self_declaration", "facial_estimation"],
                           "instances": {"facial_estimation": instance}},
            )  # fmt: skip

        vendor = {"type": "http_estimation", "config": shared_vendor().config()}
        with serve(settings({"type": "local_estimation"})) as local, serve(settings(vendor)) as remote:  # type: ignore[arg-type]
            yield Site(local, remote, back)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    folder = tmp_path_factory.mktemp("chromium")
    browser = chromium(folder / "profile", y4m(astronaut(), folder / "face.y4m"))
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def page(driver: webdriver.Chrome, request: pytest.FixtureRequest) -> Iterator[webdriver.Chrome]:
    """The shared browser, clean, and a screenshot when the test fails."""
    driver.delete_all_cookies()
    driver.get_log("browser")  # drain what earlier tests left
    yield driver
    if request.node.stash.get(FAILED, False):
        print("screenshot:", screenshot(driver, request.node.nodeid))


def start(served: Served, back: str, jurisdiction: str, state: str, subject: str) -> dict[str, str]:
    body = {"subject": subject, "jurisdiction": jurisdiction, "return_url": back, "state": state}
    r = httpx.post(f"{served.url}/v1/checks", json=body, headers=AUTH, timeout=30)
    assert r.status_code == 201, r.text
    got: dict[str, str] = r.json()
    return got


def wait_for(driver: webdriver.Chrome, by: str, what: str) -> WebElement:
    return WebDriverWait(driver, WAIT).until(lambda d: d.find_element(by, what))


def wait_for_text(driver: webdriver.Chrome, by: str, what: str, text: str) -> WebElement:
    """The element once it holds ``text``: after a submit, the old page's element may still be
    found (and then go stale) until the answer replaces the page."""

    def holding(d: webdriver.Chrome) -> WebElement | bool:
        found = d.find_element(by, what)
        return found if text in found.text else False

    ignored = [NoSuchElementException, StaleElementReferenceException]
    element: WebElement = WebDriverWait(driver, WAIT, ignored_exceptions=ignored).until(holding)
    return element


def tab_to(driver: webdriver.Chrome, element_id: str, limit: int = 40) -> None:
    """Press Tab until the element has focus, as a keyboard user would."""
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(limit):
        if driver.switch_to.active_element.get_attribute("id") == element_id:
            return
        driver.switch_to.active_element.send_keys(Keys.TAB)
    raise AssertionError(f"Tab never reached #{element_id}")


def assert_landed(driver: webdriver.Chrome, site: Site, check: dict[str, str], state: str) -> None:
    wait_for(driver, By.ID, "landed")
    url = urlsplit(driver.current_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == site.back
    assert parse_qs(url.query) == {"check_id": [check["check_id"]], "state": [state]}


def assert_nothing_kept(served: Served, *canaries: str) -> None:
    stored = repr(served.services.store.contents())
    logs = served.logs.getvalue()
    for canary in canaries:
        if canary.isdigit():  # a year: standing alone, not inside another number (2006 turns
            # up in microsecond timestamps and durations by chance)
            alone = re.compile(rf"(?<![0-9]){canary}(?![0-9])")
            assert not alone.search(stored) and not alone.search(logs), canary
        else:  # text and photo slices: anywhere, even inside a longer string
            assert canary not in stored and canary not in logs, canary


def test_keyboard_only_self_declaration_lands_on_the_return_url(page: webdriver.Chrome, site: Site) -> None:
    check = start(site.local, site.back, "default", "kb-1", "keyboard-user")
    page.get(check["check_url"])
    wait_for(page, By.ID, "birth_year")
    assert_clean(page)
    assert_accessible(page)
    tab_to(page, "birth_year")
    page.switch_to.active_element.send_keys("1987", Keys.ENTER)
    wait_for(page, By.ID, "band")
    assert "18 or older" in page.find_element(By.ID, "band").text
    assert_clean(page)
    assert_accessible(page)
    tab_to(page, "back")
    page.switch_to.active_element.send_keys(Keys.ENTER)
    assert_landed(page, site, check, "kb-1")
    assert_clean(page)
    assert_nothing_kept(site.local, "1987", "keyboard-user")


def test_fake_camera_selfie_lands_on_the_return_url(page: webdriver.Chrome, site: Site) -> None:
    check = start(site.local, site.back, "selfie", "cam-1", "camera-user")
    page.get(check["check_url"])
    assert_accessible(page)  # the photo form
    wait_for(page, By.ID, "camera-start").click()
    take = wait_for(page, By.ID, "camera-take")
    WebDriverWait(page, WAIT).until(lambda d: take.is_displayed() and d.execute_script(
        "return document.getElementById('camera-video').videoWidth > 0"))  # fmt: skip
    assert_accessible(page)  # the camera running
    take.click()
    WebDriverWait(page, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#band, #notice"))
    status = httpx.get(f"{site.local.url}/v1/checks/{check['check_id']}", headers=AUTH, timeout=30).json()
    assert status["status"] == "passed", status
    assert "18 or older" in page.find_element(By.ID, "band").text
    assert_clean(page)
    page.find_element(By.ID, "back").click()
    assert_landed(page, site, check, "cam-1")
    assert_nothing_kept(site.local, base64.b64encode(astronaut()[200:260]).decode(), "camera-user")


def test_an_inconclusive_estimate_steps_up_to_the_next_method(
    page: webdriver.Chrome, site: Site, tmp_path: Path
) -> None:
    photo = tmp_path / "selfie.png"
    photo.write_bytes(face(age=18, st_dev=2))  # 18 ± 5 straddles 18: inconclusive
    check = start(site.vendor, site.back, "selfie", "up-1", "step-up-user")
    page.get(check["check_url"])
    wait_for(page, By.ID, "image").send_keys(str(photo))  # the file-input fallback
    page.find_element(By.CSS_SELECTOR, "#photo-form button[type=submit]").click()
    notice = wait_for(page, By.ID, "notice")
    assert "try the next way" in notice.text
    year = page.find_element(By.ID, "birth_year")  # stepped up to the next method
    assert_clean(page)
    assert_accessible(page)
    year.send_keys("2006", Keys.ENTER)  # 19 or 20 on the pinned day: inside the estimate
    wait_for(page, By.ID, "band")
    page.find_element(By.ID, "back").click()
    assert_landed(page, site, check, "up-1")
    status = httpx.get(f"{site.vendor.url}/v1/checks/{check['check_id']}", headers=AUTH, timeout=30).json()
    assert status["status"] == "passed"
    assert status["methods_tried"] == ["facial_estimation", "self_declaration"]
    assert_nothing_kept(site.vendor, "2006", "step-up-user")


def test_a_csp_violation_is_a_browser_error_the_tests_see(page: webdriver.Chrome, site: Site) -> None:
    check = start(site.local, site.back, "default", "csp-1", "csp-user")
    page.get(check["check_url"])
    wait_for(page, By.ID, "birth_year")
    assert_clean(page)
    # What an injected inline script would be: the page's CSP refuses it, and the log says so.
    page.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.x = 1';"
        "document.head.appendChild(s);"
    )
    found = errors(page)
    assert any("Content Security Policy" in e["message"] for e in found), found
    assert page.execute_script("return window.x === undefined")


def test_failed_and_error_states_are_accessible(page: webdriver.Chrome, site: Site, tmp_path: Path) -> None:
    photo = tmp_path / "selfie.png"
    photo.write_bytes(face(age=18, st_dev=2))
    check = start(site.vendor, site.back, "selfie", "fail-1", "failing-user")
    page.get(check["check_url"])
    wait_for(page, By.ID, "image").send_keys(str(photo))
    page.find_element(By.CSS_SELECTOR, "#photo-form button[type=submit]").click()
    wait_for(page, By.ID, "birth_year").send_keys("0000", Keys.ENTER)  # unusable: shown again (422)
    # The stepped-up page had a notice too ("try the next way"): wait for the new one's text.
    wait_for_text(page, By.ID, "notice", "could not be used")
    errors(page)  # the 422 itself is logged as a failed load: this state is meant to answer it
    assert_accessible(page)
    wait_for(page, By.ID, "birth_year").send_keys("1950", Keys.ENTER)  # contradicts the estimate
    heading = wait_for_text(page, By.TAG_NAME, "h1", "did not succeed")
    assert "did not succeed" in heading.text
    assert_clean(page)
    assert_accessible(page)
    page.get(check["check_url"])  # the link again: used
    assert "already used" in wait_for(page, By.TAG_NAME, "main").text
    errors(page)  # the 410 is logged as a failed load
    assert_accessible(page)


@pytest.mark.parametrize(("width", "scale"), [(320, 1), (640, 2)])  # 320 px; 1280 px at 200 % zoom
def test_narrow_and_zoomed_pages_reflow_and_complete(
    page: webdriver.Chrome, site: Site, width: int, scale: int
) -> None:
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 640, "deviceScaleFactor": scale, "mobile": False},
    )
    try:
        check = start(site.local, site.back, "default", f"narrow-{width}", f"narrow-user-{width}")
        page.get(check["check_url"])
        field = wait_for(page, By.ID, "birth_year")
        assert no_sideways_scroll(page)
        assert_accessible(page)
        field.send_keys("1980", Keys.ENTER)
        wait_for(page, By.ID, "band")
        assert no_sideways_scroll(page)
        page.find_element(By.ID, "back").click()
        assert_landed(page, site, check, f"narrow-{width}")
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def no_sideways_scroll(driver: webdriver.Chrome) -> bool:
    return bool(driver.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    ))  # fmt: skip


def test_a_childs_guardian_code_and_an_appeal_are_accessible_and_clean(
    page: webdriver.Chrome, site: Site
) -> None:
    check = start(site.local, site.back, "default", "kid-1", "child-user")
    page.get(check["check_url"])
    wait_for(page, By.ID, "birth_year").send_keys("2015", Keys.ENTER)  # under 13, self-declared
    wait_for(page, By.ID, "guardian-form")
    assert page.find_element(By.ID, "appeal-form")
    assert_clean(page)
    assert_accessible(page)  # the result with both offers
    page.find_element(By.CSS_SELECTOR, "#guardian-form button").click()
    shown = wait_for(page, By.ID, "code").text
    assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", shown)
    assert_clean(page)
    assert_accessible(page)  # the code shown
    page.find_element(By.CSS_SELECTOR, "#appeal-form button").click()
    notice = wait_for(page, By.ID, "appeal-notice")
    assert "2026-03-24" in notice.text  # the bundled policy's 14 days from the pinned clock
    assert not page.find_elements(By.ID, "birth_year")  # only stronger methods: the selfie
    wait_for(page, By.ID, "photo-form")
    assert_clean(page)
    assert_accessible(page)  # the appeal page
    page.find_element(By.CSS_SELECTOR, "a.back").click()
    wait_for(page, By.ID, "landed")
    assert_nothing_kept(site.local, "2015", "child-user", shown, shown.replace("-", ""))


# A browser with the W3C Digital Credentials API, played in Chromium before the page loads (as a
# DevTools script, which the page's CSP does not govern): ``get`` keeps what the page asked for
# and answers with what the test hands it, as a wallet on the device would.
DC_WALLET = """
window.DigitalCredential = function DigitalCredential() {};
window.__dc = {};
Object.defineProperty(navigator, "credentials", { configurable: true, value: { get: function (options) {
  window.__dc.options = options;
  return new Promise(function (resolve) { window.__dc.answer = resolve; });
} } });
"""
NO_DC_API = "try { delete window.DigitalCredential; } catch (e) {}"


@pytest.fixture(scope="module")
def wallet_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Pki, str]]:
    """A deployment whose wallet step is first, its public URL the page's own origin."""
    folder = tmp_path_factory.mktemp("wallet-site")
    policy = write_policy(
        folder, replace={default_waterfall_line(): "waterfall: [age_credential, self_declaration]"}
    )
    pki, port = Pki.make(), free_port()
    origin = f"http://127.0.0.1:{port}"
    instance = pki.config(
        request_signing={"key": SIGNING["key"], "certificates": SIGNING["certificates"]},
        origins=[origin], vct=["eu.europa.ec.av.1"],
    )  # fmt: skip
    with landing() as app_url:
        settings = make_settings(
            clients_file=page_clients(folder, return_urls=[app_url + "/done"]), policy_path=policy,
            http={"public_url": origin},
            providers={"enabled": ["os_signal", "self_declaration", "age_credential"],
                       "instances": {"age_credential": {"config": instance}}},
        )  # fmt: skip
        with serve(settings, port=port, clock=SystemClock()) as served:  # credentials: today's date
            yield served, pki, app_url + "/done"


@contextmanager
def before_load(driver: webdriver.Chrome, source: str) -> Iterator[None]:
    added = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})
    try:
        yield
    finally:
        driver.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]}
        )


def test_a_wallet_on_the_device_answers_through_the_digital_credentials_api(
    page: webdriver.Chrome, wallet_site: tuple[Served, Pki, str]
) -> None:
    served, pki, back = wallet_site
    check = start(served, back, "default", "dc-1", "dc-user")
    with before_load(page, DC_WALLET):
        page.get(check["check_url"])
        start_button = wait_for(page, By.ID, "dc-start")
        WebDriverWait(page, WAIT).until(lambda d: start_button.is_displayed())
        assert page.find_element(By.ID, "wallet-link").is_displayed()  # the link stays too
        assert_clean(page)
        assert_accessible(page)  # the wallet step with the browser's wallet
        start_button.click()
        WebDriverWait(page, WAIT).until(lambda d: d.execute_script("return !!window.__dc.options"))
        options = json.loads(page.execute_script("return JSON.stringify(window.__dc.options)"))
        assert options["mediation"] == "required"
        (request,) = options["digital"]["requests"]
        claims = request_claims(request, SIGNING["cert"])
        assert claims["expected_origins"] == [served.url]
        sealed, presentation = sealed_answer(pki, claims)
        page.execute_script(
            "window.__dc.answer({protocol: arguments[0], data: {response: arguments[1]}})",
            request["protocol"], sealed,
        )  # fmt: skip
        band = wait_for(page, By.ID, "band")
        assert "18 or older" in band.text
        assert_clean(page)
    page.find_element(By.ID, "back").click()
    assert_landed(page, Site(served, served, back), check, "dc-1")
    assert_nothing_kept(served, "dc-user", presentation[:40])


def test_without_the_digital_credentials_api_the_wallet_link_remains(
    page: webdriver.Chrome, wallet_site: tuple[Served, Pki, str]
) -> None:
    served, _, back = wallet_site
    check = start(served, back, "default", "dc-2", "no-dc-user")
    with before_load(page, NO_DC_API):
        page.get(check["check_url"])
        link = wait_for(page, By.ID, "wallet-link")
        assert link.is_displayed() and page.find_element(By.ID, "wallet-qr").is_displayed()
        assert not page.find_element(By.ID, "dc-api").is_displayed()  # the script left it hidden
        assert_clean(page)
        assert_accessible(page)
