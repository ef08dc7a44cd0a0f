"""Review support for adult content, on premises: frames the app supplies go through the local
estimator, and an apparent minor is flagged ``review_required`` for a human.

A safety net, not a decision: it never approves anything (publishability stays with the depicted
persons' own checks and consents) and stores nothing. The frames live in memory for this call
only, every face in them is estimated with the policy's own parameters for the method the local
estimator serves, and the call is audited as evidence (received with its size, discarded), with
counts only. A face is an apparent minor when its estimate, widened by the method's buffer,
cannot rule out an age under the policy's adult age: the net errs towards a human look.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from providers.base import Failure, MethodParams, Outcome, ProviderContext
from providers.local_estimation import LocalEstimationProvider
from providers.registry import Registry
from service.audit.events import Audit
from service.clients.registry import Client
from service.core.clock import Clock
from service.core.errors import InvalidEvidence
from service.flows import content
from service.flows.content import ContentFlow
from service.flows.errors import ReviewUnavailable
from service.policy.compiled import Method, Policy
from service.policy.holder import PolicyHolder

MAX_FRAMES = 16
EVIDENCE_KIND = "review_frames"


@dataclass(frozen=True, slots=True)
class ContentReview:
    """What reviewing frames touches: the item (the app's own), the local estimator, the audit."""

    policy: PolicyHolder
    clock: Clock
    audit: Audit
    providers: Registry
    items: ContentFlow


@dataclass(frozen=True, slots=True)
class FrameReview:
    faces: int
    apparent_minors: int
    unassessed: int  # faces the model could not judge (no confidence, too wide an estimate)
    reason: str | None = None  # no_face


@dataclass(frozen=True, slots=True)
class ReviewResult:
    content_id: str
    review_required: bool
    frames: tuple[FrameReview, ...]
    method: str
    policy_version: str


def estimator(policy: Policy, providers: Registry) -> tuple[Method, LocalEstimationProvider]:
    """The policy's method served by the local estimator here, with its provider."""
    for method in policy.methods.values():
        provider = providers.get(method.name)
        if isinstance(provider, LocalEstimationProvider) and provider.unavailable() is None:
            return method, provider
    raise ReviewUnavailable(
        "review support needs a method of the policy backed by the local_estimation provider"
    )


async def review(
    svc: ContentReview, client: Client, content_id: str, frames: list[str | bytes], size: int
) -> ReviewResult:
    """Estimate every face in ``frames`` (which this call empties: the flow holds the only copy)."""
    try:
        await content.status(svc.items, client, content_id)  # the app's own item, or 404
        policy = svc.policy.current
        method, provider = estimator(policy, svc.providers)
    except Exception:
        frames.clear()
        raise
    # Liveness means nothing for frames the app supplies: the estimate alone is asked for.
    params = MethodParams(
        method.name, method.buffer, method.sigma_k, method.max_sigma, False, method.upper_margin
    )
    pctx = ProviderContext(svc.clock.now(), policy.bands, params)
    ctx = {"client": client.id, "content_id": content_id, "pol": policy.version}
    svc.audit.evidence_received(kind=EVIDENCE_KIND, size=size, frames=len(frames), **ctx)
    looked: list[FrameReview] = []
    try:
        for index in range(len(frames)):
            frame, frames[index] = frames[index], b""
            try:
                faces = await provider.every_face(frame, pctx)
            except InvalidEvidence as exc:
                raise type(exc)(exc.detail, **exc.extra, frame=index) from None
            finally:
                del frame
            looked.append(_judged(policy, faces))
    finally:
        frames.clear()
        svc.audit.evidence_discarded(kind=EVIDENCE_KIND, **ctx)
    required = any(f.apparent_minors for f in looked)
    svc.audit.emit(
        "content.reviewed", frames=len(looked), faces=sum(f.faces for f in looked),
        apparent_minors=sum(f.apparent_minors for f in looked),
        unassessed=sum(f.unassessed for f in looked), review_required=required, **ctx,
    )  # fmt: skip
    return ReviewResult(content_id, required, tuple(looked), method.name, policy.version)


def _judged(policy: Policy, faces: Sequence[Outcome] | Failure) -> FrameReview:
    if isinstance(faces, Failure):
        return FrameReview(0, 0, 0, faces.reason)
    minors = unassessed = 0
    for face in faces:
        if isinstance(face, Failure):
            unassessed += 1
        elif face.interval.lo < policy.adult_age:
            minors += 1
    return FrameReview(len(faces), minors, unassessed)
