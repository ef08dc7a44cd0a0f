"""No sequence of self-declarations confirms a minor band's upper edge or moves a band older.

Hypothesis writes the sequences: a subject that starts with no record, a self-declared one, a
guardian-declared minor band or an adult one, then types birth years with the clock moved on
between them (so bands may also age, and sanctions lapse). After every step the record is
compared with the one before: a record a self-declaration wrote has no upper edge, and its band
is never older than the one before it, aged by the time that passed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
from factories import AUTH, Running, running
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.core.ids import derive_sid
from service.flows.edges import aged_band
from service.store.records import AssuranceRecord

STARTS: dict[str, dict[str, Any] | None] = {
    "nothing": None,
    "typed minor": {"method": "self_declaration", "birth_year": 2012},
    "guardian minor": {
        "method": "os_signal", "source": "apple", "declaration": "guardian_declared",
        "lower_bound": 13, "upper_bound": 15,
    },
    "typed adult": {"method": "self_declaration", "birth_year": 1980},
}  # fmt: skip


async def _submit(run: Running, purpose: str, evidence: dict[str, Any]) -> None:
    r = await run.http.post(
        "/v1/checks", json={"subject": "typist", "jurisdiction": "default", "purpose": purpose}, headers=AUTH
    )
    if r.status_code != 201:  # locked, or no method reaches a sanction's level: nothing changes
        return
    await run.evidence(r.json()["check_id"], evidence)


async def _sequence(start: str, steps: list[tuple[int, int]]) -> None:
    async with running() as run:
        sid = derive_sid(run.services.pepper, "demo", "typist")
        store, policy = run.services.store, run.services.policy.current
        first = STARTS[start]
        if first is not None:
            await _submit(run, "signup", first)
        for days, birth_year in steps:
            run.clock.advance(timedelta(days=days))
            before: AssuranceRecord | None = await store.get_record(sid)
            await _submit(run, "recheck", {"method": "self_declaration", "birth_year": birth_year})
            after = await store.get_record(sid)
            if after is None or after == before:
                continue
            assert after.method == "self_declaration"  # only this check can have written it
            assert after.upper_level is None, (start, steps)
            if before is not None:
                aged = aged_band(policy, before, after.assured_at)
                ceiling = max(policy.bands.get(before.band).lo, policy.bands.get(aged).lo)
                assert policy.bands.get(after.band).lo <= ceiling, (start, steps, before.band, after.band)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.sampled_from(sorted(STARTS)),
    steps=st.lists(st.tuples(st.integers(0, 800), st.integers(1940, 2025)), min_size=1, max_size=6),
)
def test_self_declarations_never_confirm_a_minor_band_or_move_a_band_older(
    start: str, steps: list[tuple[int, int]]
) -> None:
    anyio.run(_sequence, start, steps)
