"""``http_estimation``: facial age estimation by a vendor's HTTP API.

It speaks the shape Yoti documents for its facial age estimation API; the field names below
were checked against these pages:

[1] https://developers.yoti.com/age-estimation/integration-guide (endpoints, request body)
[2] https://developers.yoti.com/age-estimationv2/age-estimation (response body)
[3] https://developers.yoti.com/facial-age-estimation-api (reference: fields, headers, statuses)
[4] https://developers.yoti.com/v8.0/ai-services-terminals/api-reference (``st_dev``, errors)
[5] https://developers.yoti.com/age-verification/headless-fae-image-handling (image limits)

- endpoints [1]: ``POST https://api.yoti.com/ai/v1/age``, or ``.../ai/v1/age-antispoofing``
  when the policy requires liveness (``base_url`` + ``age_path`` / ``age_liveness_path``);
- request [1][3]: ``{"img": "<base64 image>", "metadata": {"device": "mobile"|"laptop"|"unknown"}}``;
  ``img`` is mandatory and ``metadata.device`` optional (the reference also lists ``any``). The
  optional ``secure`` object is made by Yoti's own capture module and is not sent;
- response [2][3]: ``{"age": {"age": float, "st_dev": float},
  "antispoofing": {"prediction": "real"|"fake"|"undetermined"}}``, ``antispoofing`` only from
  the liveness endpoint. Yoti advises rejecting an ``st_dev`` above 6.0 [4]: the policy's
  ``max_sigma``;
- headers [3]: ``X-Yoti-Auth-Id`` (the SDK id: ``auth_header``/``auth_value`` here) and, for
  signed requests, ``X-Yoti-Auth-Digest`` with ``nonce`` and ``timestamp`` query parameters:
  those go through a signing gateway given as ``base_url``;
- statuses [3]: 400 (image validation or malformed request), 401, 403, 404, 413, 500, 503, with
  the reason in ``error_code`` (e.g. 401 ``INVALID_X_YOTI_AUTH_ID``) [4]. Those pages do not
  list the face-detection codes, so a code containing ``NO_FACE``/``FACE_NOT`` or ``MULTIPLE``
  maps to ``no_face``/``multiple_faces`` and any other 400/413/422 to ``image_rejected``;
- image limits, as Yoti publishes them for its estimation endpoint [5]: at most 2000 px a side
  and 2,100,000 pixels (``max_side``, ``max_send_pixels``: larger photos are scaled down), JPEG
  at quality 95 to 100 (``jpeg_quality``, default 95).

What is sent: a fresh JPEG of the decoded pixels (``providers.images``), never the client's
file, so no EXIF, GPS or ICC data reaches the vendor, and WebP input works with vendors that
take only JPEG and PNG. The image never appears in a log, an error or an exception: errors
are raised outside ``except`` blocks, so none keeps the HTTP request (which holds the image)
in its context.

Outcomes:

- ``st_dev`` above the policy's ``max_sigma`` (vendors advise 6): ``low_quality``; otherwise
  ``age ± max(buffer, sigma_k·st_dev)`` (``providers.estimate``), qualifier
  ``liveness.<prediction>`` or ``liveness.unchecked``;
- ``fake`` (always), or ``undetermined`` when the policy requires liveness:
  ``liveness_failed``, recorded as a circumvention signal;
- the vendor's face errors: ``no_face`` / ``multiple_faces``; other image refusals
  (400, 413, 422): ``image_rejected``.

Failures of the vendor itself raise, so the API answers with a stable code, the check is not
failed and the attempt is given back (the user may try again, or another method): timeouts,
connection errors, 5xx, 401/403/404 (a misconfiguration), 429 and an open circuit give 503
``provider_unavailable``; a response that is not the documented one (malformed JSON, missing
fields, larger than ``max_response_bytes``, unexpected status) gives 502 ``provider_bad_response``.

Resilience: the whole call, retries included, takes at most ``timeout_seconds`` (≤ 5 s).
Only calls the vendor cannot have processed are retried (a connection that failed to open,
or a 503), at most ``retries`` times. A circuit breaker (``providers.circuit``) opens after
``failure_threshold`` failures in a row; while it is open the provider reports itself
unavailable, so the waterfall offers other methods; after ``recovery_seconds`` one probe
call decides whether it closes again.

Connections: one ``httpx.AsyncClient`` per provider instance, made on the first call, keeps up
to ``max_connections`` connections to the vendor open (idle ones for ``keepalive_seconds``), so
consecutive checks skip the TCP and TLS handshakes. The service closes it at shutdown through
``aclose`` (``providers.base.Closeable``); a provider is used from one event loop, the service's.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal

import anyio
import httpx
import structlog
from PIL import Image
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from providers.base import Failure, Flow, Outcome, ProviderContext, Unavailability
from providers.circuit import CircuitBreaker
from providers.config import parse_config
from providers.errors import ProviderBadResponse, ProviderUnavailable
from providers.estimate import METHOD_CLASS, estimate_outcome
from providers.evidence import parse_evidence
from providers.images import ImageEvidence, ImageLimits, decode, encode_jpeg, image_bytes


def _log() -> structlog.typing.FilteringBoundLogger:
    """Looked up per event, so the service's logging set-up applies whenever it was made."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger("ageband.providers")
    return logger


_HEADER_NAME: Final = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$"
_LOOPBACK_NAMES: Final = frozenset({"localhost"})


class HttpEstimationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: AnyHttpUrl = Field(description="e.g. https://api.yoti.com/ai/v1 (https unless loopback).")
    age_path: str = Field(default="/age", pattern=r"^/[A-Za-z0-9/_.-]*$")
    age_liveness_path: str = Field(default="/age-antispoofing", pattern=r"^/[A-Za-z0-9/_.-]*$")
    auth_header: str = Field(default="X-Yoti-Auth-Id", pattern=_HEADER_NAME)
    auth_value: SecretStr | None = None
    timeout_seconds: float = Field(default=3.0, gt=0, le=5, description="The whole call, retries included.")
    connect_timeout_seconds: float = Field(default=1.0, gt=0, le=5)
    retries: int = Field(default=1, ge=0, le=3, description="Only calls the vendor cannot have processed.")
    retry_backoff_seconds: float = Field(default=0.1, ge=0, le=1)
    max_response_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    max_connections: int = Field(default=20, ge=1, le=500, description="Open to the vendor at once.")
    keepalive_seconds: float = Field(default=5.0, ge=0, le=300, description="How long an idle one stays.")
    failure_threshold: int = Field(default=5, ge=1, le=100)
    recovery_seconds: float = Field(default=30.0, ge=0.01, le=3600)
    images: ImageLimits = Field(default_factory=ImageLimits)
    max_side: int = Field(default=2000, ge=256, le=4096, description="Yoti takes at most 2000 px a side.")
    max_send_pixels: int = Field(
        default=2_100_000, ge=65_536, le=16_000_000, description="Yoti takes at most 2,100,000 pixels."
    )
    jpeg_quality: int = Field(default=95, ge=70, le=100)

    @field_validator("base_url")
    @classmethod
    def _https_unless_loopback(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if url.scheme != "https" and not _is_loopback(url.host or ""):
            raise ValueError("base_url must use https (plain http only to a loopback address)")
        if url.query or url.fragment:
            raise ValueError("base_url takes no query or fragment")
        return url


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Age(BaseModel):
    age: float = Field(allow_inf_nan=False)
    st_dev: float = Field(allow_inf_nan=False, ge=0)


class _Antispoofing(BaseModel):
    prediction: Literal["real", "fake", "undetermined"]


class _Reply(BaseModel):
    """The documented 200 answer; fields the vendor adds later are ignored."""

    age: _Age
    antispoofing: _Antispoofing | None = None


class _VendorError(BaseModel):
    error_code: str = Field(default="", max_length=128)


class HttpEstimationProvider:
    method_class: ClassVar[str] = METHOD_CLASS
    evidence_kinds: ClassVar[tuple[str, ...]] = ("image",)
    flow: ClassVar[Flow] = Flow.SUBMIT

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self._name = name
        self._config = parse_config(HttpEstimationConfig, name, config)
        self._breaker = CircuitBreaker(self._config.failure_threshold, self._config.recovery_seconds)
        self._client: httpx.AsyncClient | None = None  # made on first use, in the service's loop

    @property
    def name(self) -> str:
        return self._name

    @property
    def circuit(self) -> CircuitBreaker:
        return self._breaker

    @property
    def circuit_state(self) -> str:
        return self._breaker.state.value

    def unavailable(self) -> Unavailability | None:
        if not self._breaker.would_allow():
            return Unavailability(
                "the vendor failed repeatedly; its circuit is open", retry_after=self._breaker.retry_in()
            )
        return None

    async def aclose(self) -> None:
        """Close the connections to the vendor (at shutdown); a later call would open new ones."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            cfg = self._config
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(cfg.timeout_seconds, connect=cfg.connect_timeout_seconds),
                limits=httpx.Limits(
                    max_connections=cfg.max_connections,
                    max_keepalive_connections=cfg.max_connections,
                    keepalive_expiry=cfg.keepalive_seconds,
                ),
                follow_redirects=False,
            )
        return self._client

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        ev = parse_evidence(ImageEvidence, evidence)
        data = image_bytes(ev.image, self._config.images)
        device = ev.device
        del ev
        if not self._breaker.would_allow():
            raise ProviderUnavailable(
                "the estimation vendor is unavailable; try another method or later",
                reason="circuit_open",
                retry_after=math.ceil(self._breaker.retry_in()) or 1,
            )
        jpeg = await anyio.to_thread.run_sync(self._prepare, data)
        del data
        body = json.dumps(
            {"img": base64.b64encode(jpeg).decode("ascii"), "metadata": {"device": device}}
        ).encode("ascii")
        del jpeg
        liveness = ctx.method.liveness
        path = self._config.age_liveness_path if liveness else self._config.age_path
        if not self._breaker.allow():
            raise ProviderUnavailable(
                "the estimation vendor is unavailable; try another method or later",
                reason="circuit_open",
                retry_after=math.ceil(self._breaker.retry_in()) or 1,
            )
        outcome = await self._exchange(path, body)
        del body  # before anything is raised: no traceback frame keeps the image
        if isinstance(outcome, ProviderUnavailable | ProviderBadResponse):
            raise outcome
        if isinstance(outcome, Failure):
            return outcome
        return self._judge(outcome, ctx, liveness)

    def _prepare(self, data: bytes) -> bytes:
        """In a worker thread: the checked image, decoded and encoded afresh as a JPEG."""
        image = decode(data, self._config.images, max_side=self._config.max_side)
        try:
            _fit_pixels(image, self._config.max_send_pixels)
            return encode_jpeg(image, self._config.jpeg_quality)
        finally:
            image.close()

    def _judge(self, reply: _Reply, ctx: ProviderContext, liveness: bool) -> Outcome:
        prediction = reply.antispoofing.prediction if reply.antispoofing else None
        if prediction == "fake" or (liveness and prediction != "real"):
            return Failure("liveness_failed", circumvention=prediction is not None)
        qualifier = f"liveness.{prediction}" if prediction else "liveness.unchecked"
        return estimate_outcome(reply.age.age, reply.age.st_dev, ctx, qualifier)

    # --- the vendor call ---------------------------------------------------------------------

    async def _exchange(
        self, path: str, body: bytes
    ) -> _Reply | Failure | ProviderUnavailable | ProviderBadResponse:
        """One logical call under the deadline, with retries and the circuit; errors are returned."""
        error: ProviderUnavailable | ProviderBadResponse | None = None
        result: _Reply | Failure | None = None
        with anyio.move_on_after(self._config.timeout_seconds) as scope:
            try:
                status, payload = await self._post_with_retries(path, body)
                result = _interpret(status, payload)
            except (ProviderUnavailable, ProviderBadResponse) as exc:
                error = exc
        if scope.cancelled_caught:
            error = ProviderUnavailable("the estimation vendor did not answer in time", reason="timeout")
        if error is None and result is not None:
            self._breaker.success()
            return result
        if error is None:  # cannot happen: either a result or an error
            error = ProviderBadResponse("the estimation vendor's response is not the documented one")
        reason = str(error.extra.get("reason", error.code))
        if self._breaker.failure():
            _log().warning("provider.circuit_opened", provider=self._name, reason=reason,
                        count=self._breaker.failure_threshold)  # fmt: skip
        _log().warning("provider.call_failed", provider=self._name, reason=reason,
                    status=error.extra.get("vendor_status"))  # fmt: skip
        return type(error)(error.detail, **error.extra)  # a fresh error: no traceback into httpx

    async def _post_with_retries(self, path: str, body: bytes) -> tuple[int, bytes | None]:
        cfg = self._config
        url = str(cfg.base_url).rstrip("/") + path
        # identity: the response cap then counts the bytes that are parsed (no gzip bombs).
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        headers["Accept-Encoding"] = "identity"
        if cfg.auth_value is not None:
            headers[cfg.auth_header] = cfg.auth_value.get_secret_value()
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._post_once(url, headers, body)
            if isinstance(outcome, tuple) and not (outcome[0] == 503 and attempt <= cfg.retries):
                return outcome
            if outcome == "lost":
                raise ProviderUnavailable("the estimation vendor did not answer", reason="transport")
            if attempt > cfg.retries:
                raise ProviderUnavailable("the estimation vendor could not be reached", reason="connect")
            # Not sent, or a 503: the vendor has not processed it, so it is safe to send again.
            _log().info("provider.retry", provider=self._name, attempt=attempt)
            await anyio.sleep(cfg.retry_backoff_seconds * 2 ** (attempt - 1))

    async def _post_once(
        self, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, bytes | None] | Literal["not_sent", "lost"]:
        """(status, body or None when over the cap), or how the exchange failed. A response left
        unread (over the cap) or cut short closes its connection rather than returning it to the pool."""
        failed: Literal["not_sent", "lost"] | None = None
        try:
            async with self._http().stream("POST", url, content=body, headers=headers) as response:
                return response.status_code, await _read_capped(response, self._config.max_response_bytes)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            failed = "not_sent"  # the request never left: safe to send again
        except httpx.HTTPError:
            failed = "lost"  # it may have been processed: never retried
        return failed


def _fit_pixels(image: Image.Image, max_pixels: int) -> None:
    """Scale down in place, keeping the aspect ratio, to at most ``max_pixels`` pixels: a phone
    photo within 2000 px a side (2000 × 1500) still has more than the vendor takes."""
    width, height = image.size
    if width * height > max_pixels:
        scale = math.sqrt(max_pixels / (width * height))
        image.thumbnail((max(1, math.floor(width * scale)), max(1, math.floor(height * scale))))


async def _read_capped(response: httpx.Response, cap: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``cap`` (the rest is never read)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    buf = bytearray()
    async for chunk in response.aiter_raw():
        buf += chunk
        if len(buf) > cap:
            return None
    return bytes(buf)


_FACE_ERRORS: Final = (("MULTIPLE", "multiple_faces"), ("NO_FACE", "no_face"), ("FACE_NOT", "no_face"))


def _interpret(status: int, payload: bytes | None) -> _Reply | Failure:
    if payload is None:
        raise ProviderBadResponse("the estimation vendor's response is too large", reason="oversize")
    if status == 200:
        try:
            return _Reply.model_validate_json(payload)
        except ValidationError:
            pass
        raise ProviderBadResponse(
            "the estimation vendor's response is not the documented one", reason="malformed"
        )
    if status in (400, 413, 422):
        code = _vendor_error_code(payload)
        for marker, reason in _FACE_ERRORS:
            if marker in code:
                return Failure(reason)
        return Failure("image_rejected")
    if status in (401, 403, 404, 429) or status >= 500:
        reason = "rate_limited" if status == 429 else "server_error" if status >= 500 else "refused"
        raise ProviderUnavailable(
            "the estimation vendor is unavailable; try another method or later",
            reason=reason,
            vendor_status=status,
        )
    raise ProviderBadResponse(
        "the estimation vendor's response is not the documented one", reason="status", vendor_status=status
    )


def _vendor_error_code(payload: bytes) -> str:
    try:
        return _VendorError.model_validate_json(payload).error_code.upper()
    except ValidationError:
        return ""
