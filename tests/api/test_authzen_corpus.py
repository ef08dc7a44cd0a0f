"""AuthZEN evaluations, evaluation and resource search give the answers of ``POST /v1/decisions``
on the whole conformance corpus (``clients/conformance/corpus.json``, generated from it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from factories import AUTH, Running, running

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sdk"))
from corpus import CORPUS, corpus_settings

pytestmark = pytest.mark.anyio
KEEP = ("rule", "reason", "message", "obligations", "safety_resources", "deterrence")


def _props(p: list[str | None] | dict[str, str]) -> dict[str, str]:
    if isinstance(p, dict):
        return p  # {"token": ...}
    return {k: v for k, v in zip(("band", "level", "upper_level"), p, strict=True) if v is not None}


def _entity(kind: str, props: dict[str, str]) -> dict[str, Any]:
    return {"type": kind, "id": "x", "properties": props}


def _as_answer(result: dict[str, Any]) -> dict[str, Any]:
    return {"allowed": result["decision"], **{k: result["context"][k] for k in KEEP}}


async def _corpus_app(tmp_path: Path) -> tuple[dict[str, Any], Any]:
    corpus: dict[str, Any] = json.loads(CORPUS.read_text(encoding="utf-8"))
    return corpus, running(corpus_settings(tmp_path)[1])


async def test_authzen_evaluations_match_every_decision_of_the_corpus(tmp_path: Path) -> None:
    c, app = await _corpus_app(tmp_path)
    headers = {**AUTH, "Accept-Language": c["locale"]}
    subjects = [_entity("user", _props(p)) for p in c["parties"]]
    resources = [_entity("account", _props(p)) for p in c["parties"]]
    checked = 0
    async with app as r:
        assert r.services.policy.current.version == c["policy_version"]
        for jur, by_action in c["decisions"].items():
            answers = c["answers"][jur]
            for action, rows in by_action.items():
                body = {
                    "action": {"name": action}, "context": {"jurisdiction": jur},
                    "evaluations": [{"subject": s, "resource": t} for s in subjects for t in resources],
                }  # fmt: skip
                resp = await r.http.post("/access/v1/evaluations", json=body, headers=headers)
                assert resp.status_code == 200, resp.text
                results = resp.json()["evaluations"]
                wanted = [answers[c["alphabet"].index(ch)] for row in rows for ch in row]
                assert len(results) == len(wanted)
                for n, (got, want) in enumerate(zip(results, wanted, strict=True)):
                    assert _as_answer(got) == want, (jur, action, divmod(n, len(subjects)))
                checked += len(results)
    assert checked > 200_000


async def test_authzen_evaluation_and_search_match_the_corpus_cases(tmp_path: Path) -> None:
    c, app = await _corpus_app(tmp_path)
    async with app as r:
        await _single_cases(r, c)
        await _searches(r, c)


async def _single_cases(r: Running, c: dict[str, Any]) -> None:
    for case in c["cases"]:
        body: dict[str, Any] = {
            "subject": _entity("user", _props(case["actor"])),
            "action": {"name": case["action"]},
            "resource": _entity("account", _props(case["target"])),
            "context": {"jurisdiction": case["jurisdiction"], "country": case.get("country")},
        }
        resp = await r.http.post(
            "/access/v1/evaluation", json=body, headers={**AUTH, "Accept-Language": case["locale"]}
        )
        if "error" in case:
            assert resp.json()["code"] == case["error"], case
        else:
            assert _as_answer(resp.json()) == case["answer"], case


async def _searches(r: Running, c: dict[str, Any]) -> None:
    """For every jurisdiction and action, three actors: the accounts they may act on."""
    candidates = [{"id": str(j), **_props(p)} for j, p in enumerate(c["parties"])]
    for jur, by_action in c["decisions"].items():
        answers = c["answers"][jur]
        for action, rows in by_action.items():
            for i in (0, len(rows) // 2, len(rows) - 1):
                body = {
                    "subject": _entity("user", _props(c["parties"][i])), "action": {"name": action},
                    "resource": {"type": "account", "properties": {"candidates": candidates}},
                    "context": {"jurisdiction": jur},
                }  # fmt: skip
                resp = await r.http.post("/access/v1/search/resource", json=body, headers=AUTH)
                want = [str(j) for j, ch in enumerate(rows[i]) if answers[c["alphabet"].index(ch)]["allowed"]]
                assert [x["id"] for x in resp.json()["results"]] == want, (jur, action, i)
