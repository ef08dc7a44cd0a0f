"""Review support (POST /v1/content/{id}/review): an item's frames through the local estimator with
the real bundled model, on the estimation tests' public-domain photos. An apparent minor flags
``review_required``; nothing is approved and nothing is stored; the frames are audited as evidence."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from content_setup import performer, register, status
from estimation_photos import astronaut, astronaut_b64, no_face_b64, two_faces_b64
from factories import AUTH, Running, make_settings, running, write_policy

from service.settings import Settings

pytestmark = pytest.mark.anyio


def local_estimator(**overrides: Any) -> Settings:
    """The ``facial_estimation`` method backed by the local estimator (as the estimation tests do)."""
    instance = {"type": "local_estimation", "config": {}}
    providers = {
        "enabled": ["os_signal", "self_declaration", "facial_estimation"],
        "instances": {"facial_estimation": instance},
    }
    return make_settings(providers=providers, **overrides)


async def _item(run: Running) -> str:
    a, b = await performer(run, "performer-a"), await performer(run, "performer-b")
    return str((await register(run, a, b))["content_id"])


async def _review(run: Running, content_id: str, frames: list[str]) -> Any:
    return await run.http.post(f"/v1/content/{content_id}/review", json={"frames": frames}, headers=AUTH)


def _audit(run: Running, event: str) -> list[dict[str, Any]]:
    return [e for e in run.log_lines() if e.get("event") == event]


async def test_an_adult_face_is_not_flagged_and_nothing_is_approved_or_stored() -> None:
    async with running(local_estimator()) as run:
        content_id = await _item(run)
        before = await status(run, content_id)
        stored = dict(run.services.store.contents())
        r = await _review(run, content_id, [astronaut_b64(), no_face_b64()])
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["content_id"], body["review_required"], body["method"]) == (
            content_id, False, "facial_estimation",
        )  # fmt: skip
        assert body["frames"] == [
            {"index": 0, "faces": 1, "apparent_minors": 0, "unassessed": 0, "reason": None},
            {"index": 1, "faces": 0, "apparent_minors": 0, "unassessed": 0, "reason": "no_face"},
        ]
        # A safety net, not a decision: publishability is the people's own checks and consents.
        assert await status(run, content_id) == before
        assert run.services.store.contents() == stored  # memory only
        (received,) = _audit(run, "evidence.received")
        assert (received["kind"], received["frames"], received["content_id"]) == (
            "review_frames",
            2,
            content_id,
        )
        assert received["size"] > len(astronaut())
        assert [e["kind"] for e in _audit(run, "evidence.discarded")] == ["review_frames"]
        (reviewed,) = _audit(run, "content.reviewed")
        counts = [reviewed[k] for k in ("frames", "faces", "apparent_minors", "review_required")]
        assert counts == [2, 1, 0, False]
        assert astronaut_b64()[:64] not in "\n".join(run.logs.getvalue().splitlines())


async def test_a_face_that_may_be_a_minor_is_flagged_for_a_human(tmp_path: Path) -> None:
    # The model sees the portrait at 33; a policy whose facial_estimation buffer is 16 years cannot
    # rule out 17, so the same face is an apparent minor under it, in each of the two portraits.
    policy = write_policy(tmp_path, replace={"    buffer: 5\n": "    buffer: 16\n"})
    async with running(local_estimator(policy_path=policy)) as run:
        content_id = await _item(run)
        r = await _review(run, content_id, [astronaut_b64(), two_faces_b64()])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["review_required"] is True
        single, pair = body["frames"]
        assert single == {"index": 0, "faces": 1, "apparent_minors": 1, "unassessed": 0, "reason": None}
        # Every face of a frame is estimated (a scene may show several people), not only one:
        # both portraits are flagged (the detector also finds older-looking shapes at the seam).
        assert pair["faces"] >= 2 and pair["apparent_minors"] == 2
        (reviewed,) = _audit(run, "content.reviewed")
        assert (reviewed["apparent_minors"], reviewed["review_required"]) == (3, True)


async def test_bad_frames_and_requests_get_a_precise_problem() -> None:
    async with running(local_estimator()) as run:
        content_id = await _item(run)
        bad = await _review(run, content_id, [astronaut_b64(), "not base64!"])
        assert (bad.status_code, bad.json()["code"], bad.json()["frame"]) == (422, "image_unreadable", 1)
        assert [e["kind"] for e in _audit(run, "evidence.discarded")] == ["review_frames"]  # dropped anyway
        assert _audit(run, "content.reviewed") == []
        png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()
        broken = await _review(run, content_id, [png])
        assert (broken.status_code, broken.json()["code"], broken.json()["frame"]) == (
            422,
            "image_unreadable",
            0,
        )
        unknown = await _review(run, "cnt_" + "A" * 43, [astronaut_b64()])
        assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_content")
        many = await _review(run, content_id, ["AAAA"] * 17)
        assert (many.status_code, many.json()["code"]) == (422, "validation_failed")
        empty = await _review(run, content_id, [])
        assert (empty.status_code, empty.json()["code"]) == (422, "validation_failed")


async def test_without_a_local_estimator_review_is_unavailable() -> None:
    async with running() as run:  # the default providers: no local estimation
        content_id = await _item(run)
        r = await _review(run, content_id, [astronaut_b64()])
        assert (r.status_code, r.json()["code"]) == (503, "review_unavailable")
