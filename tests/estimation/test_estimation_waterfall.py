"""An estimate that straddles a boundary that matters: step up, or the youngest band touched.

Pinned policy: the bundled one, plus two jurisdictions that offer estimation first. The
bundled facial_estimation method has buffer 5 and sigma_k 2, so the vendor's 19 (st_dev 2)
becomes 19 ± 5 = [14, 24]: it straddles 18, where this jurisdiction requires 18+.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from estimation_context import estimation_settings
from estimation_vendor import Vendor, face_b64
from factories import running, write_policy

JURISDICTIONS = """
  EST-STEP:
    extends: default
    waterfall: [facial_estimation, self_declaration]
    on_inconclusive: step_up
  EST-YOUNG:
    extends: default
    waterfall: [facial_estimation, self_declaration]
    on_inconclusive: youngest
"""


@pytest.mark.anyio
async def test_straddling_estimate_steps_up_to_the_next_method(vendor: Vendor, tmp_path: Path) -> None:
    settings = estimation_settings(
        "http_estimation", vendor.config(), policy_path=write_policy(tmp_path, append=JURISDICTIONS)
    )
    async with running(settings) as app:
        started = await app.start_check("straddler", jurisdiction="EST-STEP")
        assert started["method"]["name"] == "facial_estimation"
        r = await app.evidence(started["check_id"], {"method": "facial_estimation", "image": face_b64(19, 2)})
        body = r.json()
        assert body["outcome"] == "inconclusive" and body["token"] is None
        assert body["check"]["next_method"]["name"] == "self_declaration"
        # A stated 2006 birth year (19 or 20) lies inside [14, 24]: together they resolve to 18+.
        r = await app.evidence(started["check_id"], {"method": "self_declaration", "birth_year": 2006})
        assert r.json()["outcome"] == "passed" and r.json()["token"]["band"] == "18_plus"


@pytest.mark.anyio
async def test_straddling_estimate_gets_the_youngest_band_it_touches(vendor: Vendor, tmp_path: Path) -> None:
    settings = estimation_settings(
        "http_estimation", vendor.config(), policy_path=write_policy(tmp_path, append=JURISDICTIONS)
    )
    async with running(settings) as app:
        started = await app.start_check("straddler", jurisdiction="EST-YOUNG")
        r = await app.evidence(started["check_id"], {"method": "facial_estimation", "image": face_b64(19, 2)})
        body = r.json()
        assert body["outcome"] == "passed"
        assert body["token"]["band"] == "13_15"  # [14, 24]: the youngest band it touches


@pytest.mark.anyio
async def test_an_estimate_clear_of_the_boundary_resolves(vendor: Vendor, tmp_path: Path) -> None:
    settings = estimation_settings(
        "http_estimation", vendor.config(), policy_path=write_policy(tmp_path, append=JURISDICTIONS)
    )
    async with running(settings) as app:
        started = await app.start_check("clear", jurisdiction="EST-STEP")
        r = await app.evidence(started["check_id"], {"method": "facial_estimation", "image": face_b64(24, 2)})
        assert r.json()["outcome"] == "passed" and r.json()["token"]["band"] == "18_plus"  # [19, 29]
