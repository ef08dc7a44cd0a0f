"""``http_estimation`` against a local server that speaks the vendor's documented API."""

from __future__ import annotations

import base64
import io
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
import structlog
from estimation_context import estimation_context
from estimation_vendor import AUTH_HEADER, AUTH_VALUE, MAX_PIXELS, Vendor, face, face_b64
from PIL import Image

from providers.base import Failure, Signal
from providers.errors import ProviderBadResponse, ProviderUnavailable
from providers.http_estimation import HttpEstimationProvider
from service.core.intervals import AgeInterval

CANARY = "cAnArY-selfie-51c9-pii"


_BUILT: list[HttpEstimationProvider] = []


@pytest.fixture(autouse=True)
async def _close_providers(anyio_backend: str) -> AsyncIterator[None]:
    """A test's providers close their vendor connections, on the test's own event loop."""
    yield
    while _BUILT:
        await _BUILT.pop().aclose()


def _track(provider: HttpEstimationProvider) -> HttpEstimationProvider:
    _BUILT.append(provider)
    return provider


def _provider(vendor: Vendor, scenario: str = "ok", **config: Any) -> HttpEstimationProvider:
    return _track(HttpEstimationProvider("facial_estimation", vendor.config(scenario, **config)))


def _canary_image(age: float = 30, st_dev: float = 2) -> str:
    """A vendor-readable face whose EXIF carries a canary: it must never be seen again."""
    exif = Image.Exif()
    exif[0x010E] = CANARY
    image = Image.open(io.BytesIO(face(age, st_dev)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=98, exif=exif.tobytes())
    return base64.b64encode(out.getvalue()).decode()


# --- success --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_estimate_becomes_a_buffered_interval(vendor: Vendor) -> None:
    provider = _provider(vendor)
    outcome = await provider.submit({"image": face_b64(30, 2)}, estimation_context(buffer=3, k=1))
    assert outcome == Signal(
        AgeInterval(27, 33),
        "facial_estimation",
        "liveness.unchecked",
        attributes=("age_estimate", "age_uncertainty"),
        at_most=30,  # the point estimate, for a band's upper edge (upper_margin 0)
    )
    # sigma·k wins over the buffer when larger
    outcome = await provider.submit({"image": face_b64(30, 2)}, estimation_context(buffer=1, k=2.5))
    assert isinstance(outcome, Signal) and outcome.interval == AgeInterval(25, 35)


@pytest.mark.anyio
async def test_request_has_the_documented_shape(vendor: Vendor) -> None:
    provider = _provider(vendor, "shape")
    await provider.submit({"image": _canary_image(), "device": "mobile"}, estimation_context())
    (sent,) = [r for r in vendor.received if r.path.startswith("/shape/")]
    assert sent.path == "/shape/age"
    assert sent.headers[AUTH_HEADER] == AUTH_VALUE
    assert sent.headers["Content-Type"] == "application/json"
    assert set(sent.body) == {"img", "metadata"} and sent.body["metadata"] == {"device": "mobile"}
    # A fresh JPEG of the pixels: the client's EXIF (and its canary) never reaches the vendor.
    assert sent.image.startswith(b"\xff\xd8\xff")
    assert CANARY.encode() not in sent.image
    assert not Image.open(io.BytesIO(sent.image)).getexif()


@pytest.mark.anyio
@pytest.mark.parametrize("size", [1800, 2400])
async def test_a_large_photo_is_scaled_to_the_vendors_pixel_limit(vendor: Vendor, size: int) -> None:
    """Within 2000 px a side is not enough: the vendor also takes at most 2,100,000 pixels."""
    # A scenario path of its own: a late request from another test on the shared vendor
    # cannot be mistaken for this one.
    scenario = f"scaled-{size}"
    provider = _provider(vendor, scenario)
    outcome = await provider.submit({"image": face_b64(30, 2, size=size)}, estimation_context())
    assert isinstance(outcome, Signal), outcome
    (sent,) = [r for r in vendor.received if r.path == f"/{scenario}/age"]
    width, height = Image.open(io.BytesIO(sent.image)).size
    assert width == height and 2_000_000 < width * height <= MAX_PIXELS


@pytest.mark.anyio
async def test_liveness_uses_the_antispoofing_endpoint(vendor: Vendor) -> None:
    provider = _provider(vendor, "liveness")
    outcome = await provider.submit({"image": face_b64(30, 2)}, estimation_context(liveness=True))
    assert [r.path for r in vendor.received if r.path.startswith("/liveness/")] == [
        "/liveness/age-antispoofing"
    ]
    assert isinstance(outcome, Signal) and outcome.qualifier == "liveness.real"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("prediction", "liveness"), [("fake", True), ("undetermined", True), ("fake", False)]
)
async def test_a_spoof_fails_as_a_circumvention_signal(
    vendor: Vendor, prediction: str, liveness: bool
) -> None:
    provider = _provider(vendor, age_path="/age-antispoofing")
    outcome = await provider.submit(
        {"image": face_b64(30, 2, prediction)}, estimation_context(liveness=liveness)
    )
    assert outcome == Failure("liveness_failed", circumvention=True)


@pytest.mark.anyio
async def test_undetermined_is_accepted_when_liveness_is_not_required(vendor: Vendor) -> None:
    provider = _provider(vendor, age_path="/age-antispoofing")
    outcome = await provider.submit({"image": face_b64(30, 2, "undetermined")}, estimation_context())
    assert isinstance(outcome, Signal) and outcome.qualifier == "liveness.undetermined"


@pytest.mark.anyio
async def test_uncertainty_above_max_sigma_is_low_quality(vendor: Vendor) -> None:
    provider = _provider(vendor)
    assert await provider.submit({"image": face_b64(30, 7)}, estimation_context(max_sigma=6)) == Failure(
        "low_quality"
    )
    outcome = await provider.submit({"image": face_b64(30, 6)}, estimation_context(max_sigma=6))
    assert isinstance(outcome, Signal) and outcome.interval == AgeInterval(24, 36)


# --- the vendor's refusals and failures -----------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "reason"), [(400, "image_rejected"), (413, "image_rejected"), (422, "image_rejected")]
)
async def test_image_refusals_are_the_users_failure(vendor: Vendor, status: int, reason: str) -> None:
    provider = _provider(vendor, f"status/{status}", failure_threshold=1)
    assert await provider.submit({"image": face_b64()}, estimation_context()) == Failure(reason)
    assert provider.unavailable() is None  # the vendor is healthy: the circuit stays closed


@pytest.mark.anyio
@pytest.mark.parametrize("status", [401, 403, 404, 429, 500, 502, 504])
async def test_vendor_errors_are_503_provider_unavailable_and_not_retried(
    vendor: Vendor, status: int
) -> None:
    scenario = f"status/{status}"
    provider = _provider(vendor, scenario, retries=3)
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.submit({"image": face_b64()}, estimation_context())
    assert caught.value.status == 503 and caught.value.code == "provider_unavailable"
    assert caught.value.extra["vendor_status"] == status
    assert vendor.calls[f"/{scenario}/age"] >= 1
    calls = vendor.calls[f"/{scenario}/age"]
    with pytest.raises(ProviderUnavailable):
        await provider.submit({"image": face_b64()}, estimation_context())
    assert vendor.calls[f"/{scenario}/age"] == calls + 1  # one call each: never retried


@pytest.mark.anyio
async def test_an_open_circuit_says_when_it_may_close(vendor: Vendor) -> None:
    provider = _provider(vendor, "status/500", failure_threshold=1, recovery_seconds=60)
    with pytest.raises(ProviderUnavailable):
        await provider.submit({"image": face_b64()}, estimation_context())  # opens the circuit
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.submit({"image": face_b64()}, estimation_context())
    assert caught.value.extra["reason"] == "circuit_open"
    assert 1 <= caught.value.retry_after <= 60  # what is left of the open period (Retry-After)


@pytest.mark.anyio
async def test_a_503_is_retried_and_may_then_succeed(vendor: Vendor) -> None:
    provider = _provider(vendor, "flaky/1/once", retries=1)
    outcome = await provider.submit({"image": face_b64()}, estimation_context())
    assert isinstance(outcome, Signal)
    assert vendor.calls["/flaky/1/once/age"] == 2


@pytest.mark.anyio
async def test_retries_are_bounded(vendor: Vendor) -> None:
    provider = _provider(vendor, "flaky/99/always", retries=2, retry_backoff_seconds=0)
    with pytest.raises(ProviderUnavailable):
        await provider.submit({"image": face_b64()}, estimation_context())
    assert vendor.calls["/flaky/99/always/age"] == 3


@pytest.mark.anyio
async def test_a_refused_connection_is_retried_then_unavailable() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = _track(HttpEstimationProvider("f", {"base_url": f"http://127.0.0.1:{port}", "retries": 2}))
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.submit({"image": face_b64()}, estimation_context())
    assert caught.value.extra["reason"] == "connect"


@pytest.mark.anyio
@pytest.mark.parametrize("scenario", ["slow/3", "drip"])
async def test_the_whole_call_has_a_deadline(vendor: Vendor, scenario: str) -> None:
    provider = _provider(vendor, scenario, timeout_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.submit({"image": face_b64()}, estimation_context())
    assert time.monotonic() - started < 1.5
    assert caught.value.extra["reason"] == "timeout"


@pytest.mark.anyio
async def test_a_dropped_connection_is_unavailable(vendor: Vendor) -> None:
    provider = _provider(vendor, "closed", retries=2)
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.submit({"image": face_b64()}, estimation_context())
    assert caught.value.extra["reason"] == "transport"
    assert vendor.calls["/closed/age"] == 1  # it may have been processed: not retried


@pytest.mark.anyio
@pytest.mark.parametrize(("scenario", "reason"), [("malformed", "malformed"), ("missing", "malformed")])
async def test_a_response_that_is_not_the_documented_one_is_502(
    vendor: Vendor, scenario: str, reason: str
) -> None:
    provider = _provider(vendor, scenario)
    with pytest.raises(ProviderBadResponse) as caught:
        await provider.submit({"image": face_b64()}, estimation_context())
    assert caught.value.status == 502 and caught.value.code == "provider_bad_response"
    assert caught.value.extra["reason"] == reason


@pytest.mark.anyio
async def test_a_missing_antispoofing_answer_fails_when_liveness_is_required(vendor: Vendor) -> None:
    provider = _provider(vendor, age_liveness_path="/age")  # a vendor path that leaves it out
    outcome = await provider.submit({"image": face_b64()}, estimation_context(liveness=True))
    assert outcome == Failure("liveness_failed", circumvention=False)


@pytest.mark.anyio
@pytest.mark.parametrize("scenario", ["huge", "huge-chunked"])
async def test_a_several_megabyte_response_is_refused_unread(vendor: Vendor, scenario: str) -> None:
    provider = _provider(vendor, scenario, max_response_bytes=64 * 1024)
    started = time.monotonic()
    with pytest.raises(ProviderBadResponse) as caught:
        await provider.submit({"image": face_b64()}, estimation_context())
    assert caught.value.extra["reason"] == "oversize"
    assert time.monotonic() - started < 2


# --- the circuit ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_circuit_opens_refuses_then_recovers_through_a_probe(vendor: Vendor) -> None:
    provider = _provider(vendor, "status/500", failure_threshold=2, recovery_seconds=0.2)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await provider.submit({"image": face_b64()}, estimation_context())
    assert provider.unavailable() is not None  # the waterfall skips it now
    calls = vendor.calls["/status/500/age"]
    with pytest.raises(ProviderUnavailable):
        await provider.submit({"image": face_b64()}, estimation_context())
    assert vendor.calls["/status/500/age"] == calls  # refused without calling
    await anyio.sleep(0.25)
    assert provider.unavailable() is None  # half-open: one probe may go
    # The probe fails: open again.
    with pytest.raises(ProviderUnavailable):
        await provider.submit({"image": face_b64()}, estimation_context())
    assert provider.unavailable() is not None
    # Point the same breaker at a healthy vendor: the next probe closes it.
    healthy = _provider(vendor, "ok")
    healthy._breaker = provider.circuit  # the breaker's state is what is under test
    await anyio.sleep(0.25)
    assert isinstance(await healthy.submit({"image": face_b64()}, estimation_context()), Signal)
    assert healthy.unavailable() is None and healthy.circuit.state.value == "closed"


# --- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"base_url": "http://vendor.example/ai/v1"},  # plain http off loopback
        {"base_url": "https://vendor.example", "timeout_seconds": 6},
        {"base_url": "https://vendor.example", "retries": 9},
        {"base_url": "https://vendor.example", "unknown": 1},
        {},
    ],
)
def test_bad_configuration_stops_start_up(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        HttpEstimationProvider("f", config)


def test_configuration_errors_never_quote_the_credential() -> None:
    secret = "sk-live-cAnArY-credential"
    with pytest.raises(ValueError) as caught:
        HttpEstimationProvider("f", {"base_url": secret, "auth_value": secret})
    assert secret not in str(caught.value)


# --- the image never shows ------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "scenario",
    ["status/500", "status/401", "malformed", "missing", "huge", "closed", "slow/3", "flaky/9/canary"],
)
async def test_the_image_never_appears_in_errors_or_logs(vendor: Vendor, scenario: str) -> None:
    image = _canary_image()
    provider = _provider(vendor, scenario, timeout_seconds=0.5, retry_backoff_seconds=0)
    with (
        structlog.testing.capture_logs() as logs,
        pytest.raises((ProviderUnavailable, ProviderBadResponse)) as caught,
    ):
        await provider.submit({"image": image}, estimation_context())
    exc: BaseException | None = caught.value
    assert exc is not None and exc.__context__ is None and exc.__cause__ is None
    shown = [
        str(exc),
        repr(exc),
        repr(exc.args),
        json.dumps(caught.value.extra),
        json.dumps(logs, default=repr),
    ]
    for text in shown:
        assert CANARY not in text
        assert image[:32] not in text and image[-32:] not in text
    assert logs and {e["event"] for e in logs} <= {
        "provider.call_failed",
        "provider.retry",
        "provider.circuit_opened",
    }
