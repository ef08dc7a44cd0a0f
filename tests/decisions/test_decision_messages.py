"""The service's own denials (no_matching_rule, invalid_token, unknown_band) speak the caller's
language like rule messages do, with the policy's texts and the same fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ageband_client import KeySet, PolicyBundle
from factories import AUTH, POLICIES, Running, make_settings, running, write_policy

from service.policy.lint import lint_policy
from service.policy.loader import load_policy

pytestmark = pytest.mark.anyio
# A jurisdiction where no rule covers profile.view: every such request is the default deny.
NO_RULES = """
  XX:
    extends: default
    disable_rules: [social-baseline, adults-cannot-reach-minors]
"""
ADULT = {"band": "18_plus", "level": "basic"}


async def _decide(r: Running, locale: str | None, **body: Any) -> dict[str, Any]:
    headers = {**AUTH, "Accept-Language": locale} if locale else AUTH
    resp = await r.http.post("/v1/decisions", json={"action": "profile.view", **body}, headers=headers)
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


async def _token(r: Running, band: str) -> str:
    """A genuine token of this service whose band the policy does not have (an older policy's)."""
    token, _ = r.services.tokens.issuing.signer.issue(
        client_id="demo", sid="s" * 43, band=band, level="basic", method="self_declaration",
        jurisdiction="default", policy_version="0" * 16, recheck_at=1_800_000_000,
    )  # fmt: skip
    return token


async def test_no_matching_rule_is_localized_with_fallback(tmp_path: Path) -> None:
    async with running(make_settings(policy_path=write_policy(tmp_path, append=NO_RULES))) as r:
        body = {"jurisdiction": "XX", "actor": ADULT, "target": ADULT}
        for locale, text in [
            (None, "This is not allowed."),
            ("de-CH,de;q=0.9", "Das ist nicht erlaubt."),
            ("fr-FR", "Ce n'est pas autorisé."),
            ("pt-BR", "Isso não é permitido."),
            ("da-DK", "This is not allowed."),  # no Danish: the policy's default_locale
        ]:
            d = await _decide(r, locale, **body)
            assert (d["allowed"], d["rule"], d["reason"]) == (False, "default-deny", "no_matching_rule")
            assert d["message"] == text, locale


async def test_the_policy_words_the_services_denials(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        replace={
            "    fr: Ce n'est pas autorisé.\n": "    fr: Ce n'est pas permis.\n",
            "    de: Das ist nicht erlaubt.\n": "    de: Nicht vorgesehen.\n",
            "    de: Das ist gerade nicht verfügbar.\n": "    de: Gerade nicht möglich.\n",
        },
        append=NO_RULES,
    )
    async with running(make_settings(policy_path=policy)) as r:
        body = {"jurisdiction": "XX", "actor": ADULT, "target": ADULT}
        assert (await _decide(r, "de", **body))["message"] == "Nicht vorgesehen."
        assert (await _decide(r, "fr", **body))["message"] == "Ce n'est pas permis."
        batch = {
            "jurisdiction": "default", "action": "profile.view", "actor": ADULT, "reasons": True,
            "targets": [{"id": "bad", "token": "x.y.z"}],
        }  # fmt: skip
        out = await r.http.post("/v1/decisions/batch", json=batch, headers={**AUTH, "Accept-Language": "de"})
        assert out.json()["reasons"]["bad"] == {
            "allowed": False, "rule": "invalid-token", "reason": "invalid_token",
            "message": "Gerade nicht möglich.",
        }  # fmt: skip


async def test_a_token_of_a_band_the_policy_lacks_is_denied_as_unknown_band() -> None:
    async with running() as r:
        stale = await _token(r, "21_plus")
        d = await _decide(r, "de", jurisdiction="default", actor={"token": stale}, target=ADULT)
        assert (d["allowed"], d["rule"], d["reason"]) == (False, "unknown-band", "unknown_band")
        assert d["message"] == "Das ist erst nach einer erneuten Altersprüfung verfügbar."
        d = await _decide(r, None, jurisdiction="default", actor=ADULT, target={"token": stale})
        assert (d["reason"], d["message"]) == (
            "unknown_band", "This is not available until the age check is renewed."
        )  # fmt: skip
        body: dict[str, Any] = {
            "jurisdiction": "default", "action": "profile.view", "reasons": True,
            "actor": ADULT, "targets": [{"id": "old", "token": stale}, {"id": "a", **ADULT}],
        }  # fmt: skip
        out = (await r.http.post("/v1/decisions/batch", json=body, headers=AUTH)).json()
        assert out["allowed"] == ["a"]
        assert out["reasons"]["old"]["reason"] == "unknown_band"
        # An actor of an unknown band may do nothing: every target is unknown_band.
        out = (
            await r.http.post("/v1/decisions/batch", json={**body, "actor": {"token": stale}}, headers=AUTH)
        ).json()
        assert out["allowed"] == []
        assert {v["reason"] for v in out["reasons"].values()} == {"unknown_band"}
        # A band the caller names itself is still a mistake in the request, not a denial.
        wrong = {"jurisdiction": "default", "action": "profile.view", "actor": {"band": "21_plus"}}
        assert (await r.http.post("/v1/decisions", json=wrong, headers=AUTH)).status_code == 400


async def test_the_bundle_words_the_services_denials_as_the_server_does() -> None:
    async with running() as r:
        token = (await r.http.get("/v1/policy/bundle", headers=AUTH)).text
        jwks = (await r.http.get("/.well-known/jwks.json")).json()
        now = r.clock.now().timestamp()
        local = PolicyBundle.verify(token, KeySet(jwks), issuer="urn:ageband:dev", now=now, clock=lambda: now)
        stale = await _token(r, "21_plus")
        d = await _decide(r, "de", jurisdiction="default", actor={"token": stale}, target=ADULT)
        mine = local.service_decision("unknown_band", "default", "de")
        assert (mine.allowed, mine.rule, mine.reason, mine.message) == (
            d["allowed"], d["rule"], d["reason"], d["message"]
        )  # fmt: skip
        invalid = local.service_decision("invalid_token", "default", "en")
        assert invalid.message == "This is not available right now."
        assert local.service_decision("no_matching_rule", "default", "de").message == "Das ist nicht erlaubt."


def test_lint_asks_for_every_language_the_policy_speaks(tmp_path: Path) -> None:
    why = "    fi: Tämän sovelluksen on tiedettävä ikäryhmäsi, jotta se voi suojella nuorempia käyttäjiä.\n"
    policy = write_policy(tmp_path, replace={why: why + "    da: Denne app skal kende din aldersgruppe.\n"})
    found = [f for f in lint_policy(load_policy(policy)) if f.where == "messages"]
    assert sorted(f.message for f in found) == [
        f"the service's {reason!r} message has no text in 'da' "
        "(built-in: en, de, fr, es, it, nl, pl, pt-BR, sv, fi)"
        for reason in ("invalid_token", "no_matching_rule", "unknown_band")
    ]


def test_lint_asks_descriptions_the_explanation_and_sanctions_for_every_language(tmp_path: Path) -> None:
    """Each is shown to the user (on the check page, or as a refusal's consequence); an inherited
    sanction is reported once, where it is written."""
    policy = write_policy(
        tmp_path,
        replace={
            "      sv: Ditt födelseår, som du själv anger det.\n": "",
            # Renamed to a language the policy does not speak.
            "    fi: >-\n      Tallennamme": "    da: >-\n      Tallennamme",
            "            fi: Ikätarkistuksesi epäonnistui": "            da: Ikätarkistuksesi epäonnistui",
        },
        append=NO_RULES,
    )
    found = [
        f
        for f in lint_policy(load_policy(policy))
        if f.where != "messages" and f.code == "missing_translation"
    ]
    assert sorted((f.where, f.message) for f in found) == [
        ("default", "sanction 'repeated_failures' has no message in 'fi'"),
        ("explanation", "explanation.keeps has no text in 'fi'"),
        ("methods", "method 'self_declaration' has no description in 'sv'"),
    ]
    assert not [f for f in lint_policy(load_policy(POLICIES)) if f.code == "missing_translation"]
