"""The conformance corpus (``clients/conformance/corpus.json``): current with the service, and the
Python SDK agrees with it on every case. The JS SDK runs the same file (``clients/js``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ageband_client import (
    BundleError,
    InvalidToken,
    InvalidWebhook,
    KeySet,
    LocalDecision,
    PolicyBundle,
    verify_token,
    verify_webhook,
)
from corpus import CORPUS, build_corpus, dumps

pytestmark = pytest.mark.anyio


def _corpus() -> dict[str, Any]:
    corpus: dict[str, Any] = json.loads(CORPUS.read_text(encoding="utf-8"))
    return corpus


def _party(p: list[str | None]) -> tuple[str | None, str | None, str | None]:
    return (p[0], p[1], p[2])


def _deterrence(d: LocalDecision) -> dict[str, Any] | None:
    if d.deterrence is None:
        return None
    return {"message": d.deterrence.message, "resources": list(d.deterrence.resources)}


def _as_answer(d: LocalDecision) -> dict[str, Any]:
    return {
        "allowed": d.allowed, "rule": d.rule, "reason": d.reason, "message": d.message,
        "obligations": list(d.obligations), "safety_resources": list(d.safety_resources),
        "deterrence": _deterrence(d),
    }  # fmt: skip


async def test_the_committed_corpus_is_what_the_service_answers_today(tmp_path: Path) -> None:
    # Stale (a policy, bundle or decision change): run `.venv/bin/python tests/sdk/corpus.py`.
    assert dumps(await build_corpus(tmp_path)) == CORPUS.read_text(encoding="utf-8"), (
        "clients/conformance/corpus.json is stale: regenerate it with tests/sdk/corpus.py"
    )


def test_python_sdk_agrees_with_the_corpus_on_every_decision() -> None:
    c = _corpus()
    now = c["now"]
    bundle = PolicyBundle.verify(
        c["bundle"], KeySet(c["jwks"]), issuer=c["issuer"], now=now, clock=lambda: now
    )
    parties = [_party(p) for p in c["parties"]]
    alphabet = c["alphabet"]
    checked = 0
    for jur, by_action in c["decisions"].items():
        answers = c["answers"][jur]
        for action, rows in by_action.items():
            for actor, row in zip(parties, rows, strict=True):
                for target, char in zip(parties, row, strict=True):
                    want = answers[alphabet.index(char)]
                    d = bundle.decide(jur, action, actor, target, locale=c["locale"])
                    assert _as_answer(d) == want, (jur, action, actor, target)
                    checked += 1
    assert checked == len(c["decisions"]) * len(c["decisions"]["default"]) * len(parties) ** 2 > 200_000


def test_python_sdk_agrees_with_the_corpus_on_single_cases_and_tokens() -> None:
    c = _corpus()
    now, keys = c["now"], KeySet(c["jwks"])
    bundle = PolicyBundle.verify(c["bundle"], keys, issuer=c["issuer"], now=now, clock=lambda: now)
    verdicts = {}
    for t in c["tokens"]:
        try:
            claims = verify_token(t["token"], keys, issuer=c["issuer"], audience=c["audience"], now=now)
        except InvalidToken:
            verdicts[t["name"]] = False
        else:
            verdicts[t["name"]] = True
            assert list(claims.party) == t["party"], t["name"]
    assert verdicts == {t["name"]: t["valid"] for t in c["tokens"]}
    for case in c["cases"]:
        sides: list[Any] = []
        try:
            for side in (case["actor"], case["target"]):
                if isinstance(side, dict):  # a token: verified first, as the server does
                    sides.append(
                        verify_token(side["token"], keys, issuer=c["issuer"], audience=c["audience"], now=now)
                    )
                else:
                    sides.append(_party(side))
            d = bundle.decide(
                case["jurisdiction"],
                case["action"],
                sides[0],
                sides[1],
                locale=case["locale"],
                country=case.get("country"),
            )
        except InvalidToken:
            assert case.get("error") == "invalid_party_token", case
            continue
        except BundleError as err:
            assert case.get("error") == err.code, case
            continue
        assert case.get("answer") == _as_answer(d), case


def test_python_sdk_refuses_every_tampered_bundle() -> None:
    c = _corpus()
    keys = KeySet(c["jwks"])
    for case in c["bundles"]:
        with pytest.raises(BundleError):
            PolicyBundle.verify(case["bundle"], keys, issuer=c["issuer"], now=case["now"])
    # ... and an expired bundle decides nothing, not even one it verified earlier (fail closed).
    now = c["now"]
    bundle = PolicyBundle.verify(c["bundle"], keys, issuer=c["issuer"], now=now, clock=lambda: now)
    adult = ("18_plus", "effective", None)
    later = bundle.expires_at + 31
    assert bundle.is_allowed("default", "profile.view", adult, adult, now=now)
    assert not bundle.is_allowed("default", "profile.view", adult, adult, now=later)
    with pytest.raises(BundleError, match="expired"):
        bundle.decide("default", "profile.view", adult, adult, now=later)


def test_python_sdk_verifies_the_services_webhooks_and_nothing_else() -> None:
    c = _corpus()
    for case in c["webhooks"]:
        try:
            verify_webhook(c["webhook_secret"], case["headers"], case["body"], now=case["now"])
        except InvalidWebhook:
            assert not case["valid"], case["name"]
        else:
            assert case["valid"], case["name"]
