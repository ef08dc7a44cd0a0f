"""The page speaks every language of the bundled policy, each with every key; right to left too."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from pathlib import Path

import pytest
from factories import POLICIES, running
from page_client import open_page
from page_setup import page_settings

from service.policy.holder import PolicyHolder
from service.web import render
from service.web.texts import EN, TEXTS

pytestmark = pytest.mark.anyio
STATIC = Path(render.__file__).parent / "static"


def problems(texts: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Keys a locale lacks or has beyond English, and texts whose {placeholders} differ."""
    out = []
    for locale, words in texts.items():
        out += [f"{locale}: lacks {k}" for k in EN.keys() - words.keys()]
        out += [f"{locale}: unknown {k}" for k in words.keys() - EN.keys()]
        for key in EN.keys() & words.keys():
            fields = {f for _, f, _, _ in string.Formatter().parse(words[key]) if f}
            if fields != {f for _, f, _, _ in string.Formatter().parse(EN[key]) if f}:
                out.append(f"{locale}: {key} has placeholders {sorted(fields)}")
    return out


def test_every_locale_has_every_key() -> None:
    assert problems(TEXTS) == []


def test_a_locale_that_lacks_a_key_is_reported() -> None:
    broken = {**TEXTS, "de": {k: v for k, v in TEXTS["de"].items() if k != "continue"}}
    assert problems(broken) == ["de: lacks continue"]
    renamed = {"fr": {**TEXTS["fr"], "your_band": "Votre tranche : {tranche}"}}
    assert problems(renamed) == ["fr: your_band has placeholders ['tranche']"]


def test_the_page_speaks_every_language_of_the_bundled_policy() -> None:
    policy = PolicyHolder.load(POLICIES).current
    assert set(policy.locales) <= set(TEXTS)
    assert set(policy.locales) == {"en", "de", "fr", "es", "it", "nl", "pl", "pt-BR", "sv", "fi"}


def test_the_layout_is_written_for_both_directions() -> None:
    css = (STATIC / "page.css").read_text()
    physical = re.findall(
        r"(?:margin|padding|border)-(?:left|right)|text-align:\s*(?:left|right)|[^-]\b(?:left|right):", css
    )
    assert physical == []  # logical properties only: a right-to-left page mirrors by itself
    assert render.page_direction("ar") == "rtl" and render.page_direction("he-IL") == "rtl"
    assert render.page_direction("fi") == "ltr"


@pytest.mark.parametrize(
    ("accept", "lang", "html_lang", "heading"),
    [
        ("de-CH, en;q=0.5", None, "de", "Altersprüfung"),
        ("pt", None, "pt-BR", "Verificação de idade"),
        ("fr;q=0.2, sv;q=0.9", None, "sv", "Ålderskontroll"),
        ("ja", None, "en", "Age check"),
        ("de", "fi", "fi", "Ikätarkistus"),  # the switcher wins
        ("de", "xx", "de", "Altersprüfung"),  # an unknown switch is ignored
    ],
)
async def test_the_page_negotiates_and_switches_language(
    tmp_path: Path, accept: str, lang: str | None, html_lang: str, heading: str
) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run)
        params = {"lang": lang} if lang else {}
        r = await run.http.get(page.path, params=params, headers={"Accept-Language": accept})
        assert f'<html lang="{html_lang}" dir="ltr">' in r.text
        assert f"<h1>{heading}</h1>" in r.text
        assert r.text.count('hreflang="') == 10  # the switcher offers every language


async def test_the_result_speaks_the_language_too(tmp_path: Path) -> None:
    async with running(page_settings(tmp_path)) as run:
        page = await open_page(run)
        await page.declare("1990")
        r = await run.http.get(page.path, params={"lang": "de"})
        assert "Ihre Altersgruppe: ab 18" in r.text and "Nachrichten senden: mit Personen ab 18." in r.text
