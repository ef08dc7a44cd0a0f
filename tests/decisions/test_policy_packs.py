"""The shipped jurisdiction packs: what each one changes, and that each says what it is."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml
from factories import POLICIES

from service.policy.compiled import CHECK_MESSAGES
from service.policy.interactions import SERVICE_MESSAGES
from service.policy.loader import load_policy

PACKS = ["GB", "EU", "US", "US-CA", "AU"]
# The languages of the hosted check page: every user-facing text ships in each of them.
LANGUAGES = {"en", "de", "fr", "es", "it", "nl", "pl", "pt-BR", "sv", "fi"}
policy = load_policy(POLICIES)
decide = policy.tables.decide


@pytest.mark.parametrize("code", PACKS)
def test_pack_headers_say_they_are_examples_not_legal_advice(code: str) -> None:
    text = (POLICIES / f"{code}.yaml").read_text(encoding="utf-8")
    assert "# yaml-language-server: $schema=./schema/policy.schema.json" in text
    assert "EXAMPLE TO ADAPT, NOT LEGAL ADVICE" in text


@pytest.mark.parametrize("code", PACKS)
def test_every_number_in_a_pack_has_a_source_comment(code: str) -> None:
    """Each line with a number (an age, a duration, a phone number) sits under a comment."""
    names = re.compile("|".join(re.escape(b) for b in policy.bands.names) + r"|ageband/v1|US-CA|https://\S+")
    lines = (POLICIES / f"{code}.yaml").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        body = names.sub("", line.split("#")[0])
        if not re.search(r"\d", body):
            continue
        above = [x for x in lines[max(0, i - 8) : i] if x.lstrip().startswith("#")]
        assert above, f"{code}.yaml:{i + 1} has a number and no source comment above it"


def _localized(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every text of a pack given per locale (a mapping with an ``en`` key), with its path."""
    if isinstance(node, dict):
        if "en" in node:
            yield path, node
            return
        for key, value in node.items():
            yield from _localized(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _localized(value, f"{path}[{i}]")


def test_every_text_of_every_pack_is_in_every_language_of_the_check_page() -> None:
    """Method descriptions, the explanation, the service's messages, rule and sanction messages."""
    texts = [
        found
        for code in ["default", *PACKS]
        for found in _localized(yaml.safe_load((POLICIES / f"{code}.yaml").read_text(encoding="utf-8")), code)
    ]
    assert {path.split(".")[0] for path, _ in texts} == {"default", *PACKS} - {"US-CA"}  # it adds no text
    for path, text in texts:
        assert set(text) == LANGUAGES, path
        assert all(isinstance(v, str) and v.strip() for v in text.values()), path
    assert set(policy.explanation_why) == LANGUAGES  # so lint asks every text for all of them


def test_the_services_built_in_texts_are_in_every_language_of_the_check_page() -> None:
    for reason, text in {**SERVICE_MESSAGES, **CHECK_MESSAGES}.items():
        assert set(text) == LANGUAGES, reason


def test_every_pack_keeps_adults_away_from_minors() -> None:
    for code in ["default", *PACKS]:
        for action in ("profile.view", "search.include", "suggest.friend", "contact.request", "message.send"):
            for target in (
                ("under_13", None, None),
                ("13_15", "strict", None),
                ("16_17", "basic", None),
                (None, None, None),
                ("13_15", "strict", "strict"),
                ("under_13", "effective", "effective"),
            ):
                assert not decide(code, action, ("18_plus", "strict", None), target).allowed, (
                    code,
                    action,
                    target,
                )
                assert not decide(code, action, (None, None, None), target).allowed, (code, action, target)


def test_gb_adult_content_needs_highly_effective_assurance() -> None:
    assert not decide("GB", "content.view.adult", ("18_plus", "effective", None), (None, None, None)).allowed
    out = decide("GB", "content.view.adult", ("18_plus", "basic", None), (None, None, None))  # self-declared
    assert out.reason == "highly_effective_age_assurance_required"
    assert decide(
        "GB", "content.view.adult", ("18_plus", "highly_effective", None), (None, None, None)
    ).allowed
    assert decide("default", "content.view.adult", ("18_plus", "effective", None), (None, None, None)).allowed


def test_eu_rechecks_adults_within_three_months() -> None:
    """The blueprint's 3 months bound the last token, not the re-check day: day + grace ≤ 89 days
    (three calendar months can be as short as 89 days, e.g. 31 January to 30 April)."""
    eu = policy.jurisdiction("EU")
    for method in policy.methods:
        assert eu.recheck_interval("18_plus", method) + eu.grace <= timedelta(days=89), method
    assert not decide("EU", "content.view.adult", ("18_plus", "effective", None), (None, None, None)).allowed


def test_au_minimum_age_16_for_social_features() -> None:
    for band in ("under_13", "13_15"):
        out = decide("AU", "message.send", (band, "effective", None), ("13_15", "effective", None))
        assert (out.allowed, out.reason) == (False, "social_media_minimum_age")
    confirmed = ("16_17", "effective", "effective")
    assert decide("AU", "message.send", confirmed, confirmed).allowed
    assert not decide("AU", "profile.view", ("16_17", None, None), ("13_15", None, None)).allowed


def test_us_coppa_under_13_and_california_inherits_it() -> None:
    for code in ("US", "US-CA"):
        out = decide(code, "message.send", ("under_13", "basic", None), ("under_13", "basic", None))
        assert (out.allowed, out.reason) == (False, "parental_consent_required")
        assert "show_safety_resources" in out.obligations
        teen = ("13_15", "basic", "basic")  # a band an estimate confirmed
        assert decide(code, "message.send", teen, teen).allowed
    assert policy.jurisdiction("US-CA").safety_resources["US"][0]["name"].startswith("Childhelp")
