"""Deterrence: denials of an adult's action towards a minor carry the message and prevention
resources, and repeated attempts of one subject raise subject.flagged, from a count keyed by sid."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import AUTH, POLICIES, Running, running

from service.policy.loader import load_policy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "content"))
from content_setup import queued_events, webhook_settings

pytestmark = pytest.mark.anyio

ADULT = {"band": "18_plus", "level": "effective"}
TEEN = {"band": "13_15", "level": "effective", "upper_level": "effective"}
REPEATED = "repeated_minor_contact_attempts"


async def decide(run: Running, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    r = await run.http.post(
        "/v1/decisions", json={"jurisdiction": "default", **body}, headers={**AUTH, **(headers or {})}
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


@pytest.mark.parametrize("action", ["profile.view", "contact.request", "message.send", "suggest.friend"])
async def test_an_adult_refused_towards_a_minor_is_shown_deterrence(action: str) -> None:
    async with running() as run:
        d = await decide(run, action=action, actor=ADULT, target=TEEN, country="GB")
        assert (d["allowed"], d["reason"], d["obligations"]) == (
            False,
            "minor_account_protected",
            ["deterrence"],
        )
        assert "confidential help" in d["deterrence"]["message"]
        assert d["deterrence"]["resources"] == [
            {"name": "Stop It Now (Lucy Faithfull Foundation)", "phone": "0808 1000 900",
             "url": "https://www.stopitnow.org.uk/"},
        ]  # fmt: skip


async def test_deterrence_speaks_the_callers_language_and_falls_back_to_the_default_resources() -> None:
    async with running() as run:
        d = await decide(run, {"Accept-Language": "de-CH"}, action="message.send", actor=ADULT, target=TEEN)
        assert d["deterrence"]["message"].startswith("Sie können dieses Konto nicht erreichen")
        assert [r["name"] for r in d["deterrence"]["resources"]] == [
            "ReDirection self-help programme (Protect Children)"
        ]
        de = await decide(run, action="message.send", actor=ADULT, target=TEEN, country="DE")
        assert [r["name"] for r in de["deterrence"]["resources"]] == ["Kein Täter werden"]


@pytest.mark.parametrize(
    ("actor", "target"),
    [(ADULT, ADULT), (TEEN, ADULT), (TEEN, {"band": "13_15", "level": "basic", "upper_level": "basic"})],
)
async def test_no_deterrence_where_no_adult_is_refused_towards_a_minor(
    actor: dict[str, str], target: dict[str, str]
) -> None:
    async with running() as run:
        d = await decide(run, action="message.send", actor=actor, target=target)
        assert "deterrence" not in d and "deterrence" not in d["obligations"]


async def test_repeated_attempts_by_one_subject_raise_the_flag_once(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        sid, token = await run.adult_token("adult-1")
        for _ in range(7):
            d = await decide(run, action="message.send", actor={"token": token}, target=TEEN)
            assert d["obligations"] == ["deterrence"]
        flagged = [e for e in run.log_lines() if e.get("event") == "subject.flagged"]
        ref = run.services.removal.subject_refs.ref(sid)  # the log's shreddable subject reference
        assert [(e["sid_hash"], e["reason"], e["count"]) for e in flagged] == [(ref, REPEATED, 5)]
        hooks = [e["data"] for e in await queued_events(run) if e["type"] == "subject.flagged"]
        assert hooks == [{"sid": sid, "reason": REPEATED}]
        # What is kept: one counter under the sid, with the window as its TTL, and nothing else.
        store = run.services.store
        key = f"ageband:abz:{{{sid}}}:minor_contact"
        assert store.contents()[key] == 7
        expiry = dict(store.keys_with_expiry())[key]
        assert expiry - run.clock.now() == timedelta(days=1)
        # A new window counts afresh, and flags again at the limit.
        run.clock.advance(timedelta(days=1, seconds=1))
        r = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)
        token = r.json()["token"]
        for _ in range(5):
            await decide(run, action="contact.request", actor={"token": token}, target=TEEN)
        assert len([e for e in run.log_lines() if e.get("event") == "subject.flagged"]) == 2


async def batch(run: Running, actor: dict[str, Any], targets: list[dict[str, Any]]) -> dict[str, Any]:
    body = {"jurisdiction": "default", "action": "message.send", "actor": actor, "targets": targets}
    r = await run.http.post("/v1/decisions/batch", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def test_batch_decisions_count_towards_the_flag_once_per_request(tmp_path: Path) -> None:
    async with running(webhook_settings(tmp_path)) as run:
        sid, token = await run.adult_token("adult-1")
        _, minor = await run.guardian_token("teen-1")
        key = f"ageband:abz:{{{sid}}}:minor_contact"
        store = run.services.store
        actor = {"token": token}
        # Nothing refused with deterrence: nothing counted.
        assert (await batch(run, actor, [{"id": "a", **ADULT}]))["allowed"] == ["a"]
        assert key not in store.contents()
        # Targets as bands (read column-wise) and as tokens (the ordinary loop) count alike: one
        # attempt per request, however many of its targets were refused.
        teens = [{"id": f"t{i}", **TEEN} for i in range(3)]
        assert (await batch(run, actor, [*teens, {"id": "a", **ADULT}]))["allowed"] == ["a"]
        assert store.contents()[key] == 1
        assert (await batch(run, actor, [{"id": "m", "token": minor}, {"id": "a", **ADULT}]))["allowed"] == [
            "a"
        ]
        assert store.contents()[key] == 2
        await decide(run, action="message.send", actor=actor, target=TEEN)  # a single decision: one more
        for _ in range(3):
            await batch(run, actor, teens)
        assert store.contents()[key] == 6
        flagged = [e for e in run.log_lines() if e.get("event") == "subject.flagged"]
        assert [(e["reason"], e["count"]) for e in flagged] == [(REPEATED, 5)]
        hooks = [e["data"] for e in await queued_events(run) if e["type"] == "subject.flagged"]
        assert hooks == [{"sid": sid, "reason": REPEATED}]
        # An actor given as a band is not counted in a batch either (no sid).
        await batch(run, ADULT, teens)
        assert store.contents()[key] == 6


async def test_actors_given_by_band_are_not_counted() -> None:
    async with running() as run:
        for _ in range(6):
            await decide(run, action="message.send", actor=ADULT, target=TEEN)
        assert not [k for k in run.services.store.contents() if k.endswith(":minor_contact")]
        assert not [e for e in run.log_lines() if e.get("event") == "subject.flagged"]


async def test_erasure_forgets_the_count() -> None:
    async with running() as run:
        sid, token = await run.adult_token("adult-1")
        await decide(run, action="message.send", actor={"token": token}, target=TEEN)
        r = await run.http.post("/v1/subjects/erase", json={"sid": sid}, headers=AUTH)
        assert r.status_code == 200
        assert not [k for k in run.services.store.contents() if k.endswith(":minor_contact")]


def test_every_bundled_pack_attaches_deterrence_to_adult_to_minor_denials() -> None:
    policy = load_policy(POLICIES)
    for code, juris in policy.jurisdictions.items():
        assert juris.deterrence is not None and juris.deterrence.repeated is not None, code
        for action in ("profile.view", "search.include", "suggest.friend", "contact.request", "message.send"):
            teen = ("13_15", "effective", "effective")
            outcome = policy.tables.decide(code, action, ("18_plus", "effective", None), teen)
            assert not outcome.allowed and "deterrence" in outcome.obligations, (code, action)
    gb = policy.jurisdictions["GB"].deterrence
    assert gb is not None and json.dumps(gb.resources["GB"])  # inherited from default
