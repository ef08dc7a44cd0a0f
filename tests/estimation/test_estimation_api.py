"""Estimation through the API: JSON base64 and multipart uploads, each bad input's own 4xx,
vendor outages as 503, and an image that never shows up in logs or responses."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from estimation_context import estimation_settings
from estimation_vendor import Vendor, face, face_b64
from factories import AUTH, Running, running
from PIL import Image

CANARY = "cAnArY-upload-0b7e-pii"


def _png_with_canary(age: float = 30) -> bytes:
    """A face whose PNG text chunk carries a canary (PNG's place for metadata)."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Description", CANARY)
    out = io.BytesIO()
    Image.open(io.BytesIO(face(age, 2))).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


async def _check(app: Running, subject: str = "estimation-user") -> str:
    started = await app.start_check(subject)
    names = [m["name"] for m in started["methods"]]
    assert names == ["os_signal", "self_declaration", "facial_estimation"]
    return str(started["check_id"])


async def _upload(app: Running, check_id: str, image: bytes, **fields: str) -> Any:
    data = {"method": "facial_estimation", **fields}
    files = {"image": ("selfie.bin", image, "application/octet-stream")}
    return await app.http.post(f"/v1/checks/{check_id}/evidence/upload", data=data, files=files, headers=AUTH)


@pytest.mark.anyio
async def test_json_base64_selfie_passes_as_an_adult(vendor: Vendor) -> None:
    async with running(estimation_settings("http_estimation", vendor.config())) as app:
        check_id = await _check(app)
        r = await app.evidence(check_id, {"method": "facial_estimation", "image": face_b64(35, 2)})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["outcome"] == "passed" and body["token"]["band"] == "18_plus"


@pytest.mark.anyio
async def test_multipart_upload_passes_and_stays_off_disk(
    vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def no_disk(*_: Any, **__: Any) -> Any:
        raise AssertionError("an upload was written to a temporary file")

    async with running(estimation_settings("http_estimation", vendor.config())) as app:
        check_id = await _check(app)
        # A 1.5 MB photo: past Starlette's default 1 MB spool threshold.
        big = io.BytesIO()
        Image.effect_noise((1000, 1000), 64).convert("RGB").save(big, format="PNG")
        assert len(big.getvalue()) > 1024 * 1024
        monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", no_disk)
        r = await _upload(app, check_id, big.getvalue(), device="mobile")
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] in {"passed", "inconclusive", "failed"}
        check_id = await _check(app, "second-user")
        r = await _upload(app, check_id, face(40, 2, fmt="WEBP"))
        assert r.status_code == 200, r.text
        assert r.json()["token"]["band"] == "18_plus"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("image", "status", "code"),
    [
        (b"GIF89a" + b"\0" * 64, 415, "unsupported_image_type"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, 422, "image_unreadable"),
        (b"\xff\xd8\xff" + b"\0" * 4000, 413, "image_too_large"),
    ],
)
async def test_each_bad_image_gets_its_own_4xx(vendor: Vendor, image: bytes, status: int, code: str) -> None:
    config = vendor.config(images={"max_bytes": 2048})
    async with running(estimation_settings("http_estimation", config)) as app:
        check_id = await _check(app)
        text = base64.b64encode(image).decode()
        for r in (
            await app.evidence(check_id, {"method": "facial_estimation", "image": text}),
            await _upload(app, check_id, image),
        ):
            assert r.status_code == status, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["code"] == code


@pytest.mark.anyio
async def test_decompression_bomb_gets_422(vendor: Vendor) -> None:
    bomb = io.BytesIO()
    Image.new("1", (6000, 6000)).save(bomb, format="PNG")
    async with running(estimation_settings("http_estimation", vendor.config())) as app:
        r = await _upload(app, await _check(app), bomb.getvalue())
        assert r.status_code == 422 and r.json()["code"] == "image_too_many_pixels"


@pytest.mark.anyio
async def test_schema_and_upload_errors(vendor: Vendor) -> None:
    async with running(estimation_settings("http_estimation", vendor.config())) as app:
        check_id = await _check(app)
        r = await app.evidence(check_id, {"method": "facial_estimation", "image": "not base64!"})
        assert r.status_code == 422 and r.json()["code"] == "invalid_evidence"
        url = f"/v1/checks/{check_id}/evidence/upload"
        r = await app.http.post(url, json={"method": "facial_estimation"}, headers=AUTH)
        assert r.status_code == 415
        r = await app.http.post(url, files={"image": ("a", face(), "image/png")}, headers=AUTH)
        assert r.status_code == 400 and r.json()["code"] == "malformed_upload"
        files = [("image", ("a", face(), "image/png")), ("image", ("b", face(), "image/png"))]
        r = await app.http.post(url, data={"method": "facial_estimation"}, files=files, headers=AUTH)
        assert r.status_code == 400 and r.json()["code"] == "malformed_upload"


@pytest.mark.anyio
async def test_the_evidence_body_limit_is_raised_for_evidence_only(vendor: Vendor) -> None:
    async with running(estimation_settings("http_estimation", vendor.config())) as app:
        check_id = await _check(app)
        # A 5 MiB image as base64 JSON (about 7 MB) reaches the provider...
        payload = {
            "method": "facial_estimation",
            "image": base64.b64encode(b"\xff\xd8\xff" + b"\0" * (5 * 2**20 - 3)).decode(),
        }
        r = await app.evidence(check_id, payload)
        assert r.status_code == 422 and r.json()["code"] == "image_unreadable"
        # ...one byte more is the provider's 413...
        payload["image"] = base64.b64encode(b"\xff\xd8\xff" + b"\0" * (5 * 2**20)).decode()
        r = await app.evidence(check_id, payload)
        assert r.status_code == 413 and r.json()["code"] == "image_too_large"
        # ...a body over the evidence limit never reaches a parser...
        r = await app.http.post(
            f"/v1/checks/{check_id}/evidence",
            content=b"{" + b" " * (9 * 2**20) + b"}",
            headers={**AUTH, "Content-Type": "application/json"},
        )
        assert r.status_code == 413 and r.json()["code"] == "body_too_large"
        # ...and other routes keep the small global limit.
        r = await app.http.post(
            "/v1/checks",
            content=b"{" + b" " * 100_000 + b"}",
            headers={**AUTH, "Content-Type": "application/json"},
        )
        assert r.status_code == 413


@pytest.mark.anyio
async def test_vendor_outage_is_503_and_an_open_circuit_takes_the_method_out(vendor: Vendor) -> None:
    config = vendor.config("status/500", failure_threshold=2, recovery_seconds=60)
    async with running(estimation_settings("http_estimation", config)) as app:
        check_id = await _check(app)
        for _ in range(2):
            r = await app.evidence(check_id, {"method": "facial_estimation", "image": face_b64()})
            assert r.status_code == 503 and r.json()["code"] == "provider_unavailable"
            assert r.headers["Retry-After"] == "5"
        r = await app.evidence(check_id, {"method": "facial_estimation", "image": face_b64()})
        assert r.status_code == 503 and r.json()["code"] == "method_unavailable"
        assert 1 <= int(r.headers["Retry-After"]) <= 60  # what is left of the circuit's 60 s
        started = await app.start_check("later-user")
        assert [m["name"] for m in started["methods"]] == ["os_signal", "self_declaration"]
        ready = (await app.http.get("/readyz")).text
        assert "circuit is open" in ready


@pytest.mark.anyio
async def test_a_spoof_fails_the_attempt_and_is_flagged(vendor: Vendor) -> None:
    async with running(
        estimation_settings("http_estimation", vendor.config(age_path="/age-antispoofing"))
    ) as app:
        check_id = await _check(app)
        r = await app.evidence(check_id, {"method": "facial_estimation", "image": face_b64(30, 2, "fake")})
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] == "failed" and r.json()["reason"] == "liveness_failed"
        flagged = [e for e in app.log_lines() if e["event"] == "subject.flagged"]
        assert flagged and flagged[0]["reason"] == "liveness_failed", app.log_lines()


@pytest.mark.anyio
async def test_metadata_and_image_never_reach_logs_or_responses(vendor: Vendor) -> None:
    image = _png_with_canary()
    text = base64.b64encode(image).decode()
    async with running(estimation_settings("http_estimation", vendor.config())) as app:
        check_id = await _check(app)
        responses = [
            await app.evidence(check_id, {"method": "facial_estimation", "image": text}),
            await _upload(app, await _check(app, "u2"), image),
        ]
        bad = await app.evidence(await _check(app, "u3"), {"method": "facial_estimation", "image": text[:-8]})
        responses.append(bad)
        logs = app.logs.getvalue()
        assert "evidence.received" in logs and "evidence.discarded" in logs
        for shown in [logs, *(r.text for r in responses)]:
            assert CANARY not in shown
            assert text[:40] not in shown and text[-40:] not in shown
        assert vendor.received and all(CANARY.encode() not in r.image for r in vendor.received)
