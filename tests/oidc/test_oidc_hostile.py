"""eid_oidc against an identity provider that misbehaves on purpose (tests/oidc/hostile_idp.py),
driven over HTTP through the real start and callback endpoints, on a real Redis.

Each refused callback is checked twice: the reason code the app gets back, and what the store
gained, key class by key class. What a refused callback may leave is fixed by design:
- the state's single-use marker (``once``), so the callback cannot be replayed;
- the attempt it spent, on the check (attempt counter, ``methods_tried``) and in the abuse
  counters (attempts, failures, the methods-tried set);
- for a circumvention reason (a forged, mixed-up or misdirected response), the policy's sanction
  and the revocation marker.
Never a signal in the check, an interval, a record, a token, a re-check timer or a due entry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from factories import AUTH
from hostile_env import Env, authorize, back, callback, hostile_env, idp_config, login, start
from hostile_idp import HostileIdp, Signing, hostile_idp

pytestmark = pytest.mark.anyio

# What any refused callback leaves (see the module docstring); circumvention adds a sanction.
SPENT = {
    "once:{}": "added",
    "chk:{}": "changed",
    "chk:{}:attempts": "added",
    "abz:{}:attempts": "added",
    "abz:{}:failures": "added",
    "abs:{}:shopping": "added",
}
SANCTIONED = {**SPENT, "sub:{}:snc": "added", "sub:{}:rev": "added"}


@pytest.fixture
def idp() -> Iterator[HostileIdp]:
    with hostile_idp() as server:
        yield server


async def assert_refused_cleanly(
    env: Env, check: dict[str, Any], before: dict[str, bytes], *, circumvention: bool
) -> None:
    """Only what the design says a refused callback leaves; the check holds no signal."""
    assert await env.changes(before) == (SANCTIONED if circumvention else SPENT)
    state = await env.run.services.store.checks.get_check(check["check_id"])
    assert state is not None
    assert (state.status.value, state.signals, state.methods_tried) == ("pending", [], ["bank"])
    assert (state.interval_lo, state.interval_hi) == (None, None)  # no interval, not even a partial one
    assert await env.run.services.store.records.get_record(check["sid"]) is None


async def refused(env: Env, url: str, check: dict[str, Any], reason: str, **replace: str | None) -> None:
    result = back(await callback(env.run, url, **replace))
    assert result == {"check_id": check["check_id"], "outcome": "failed", "reason": reason}


# --- 1. ID tokens the relying party must refuse ------------------------------------------------

ID_TOKEN_CASES: list[tuple[str, dict[str, Any], Signing, str, bool]] = [
    ("wrong_audience", {"aud": "someone-else"}, "good", "audience_mismatch", True),
    ("audience_list_without_azp", {"aud": ["ageband-test", "other"]}, "good", "audience_mismatch", True),
    ("expired", {"iat": lambda t: t - 400, "exp": lambda t: t - 120}, "good", "id_token_expired", False),
    ("issued_in_the_future", {"iat": lambda t: t + 300, "exp": lambda t: t + 900}, "good",
     "id_token_expired", False),
    ("wrong_nonce", {"nonce": "not-the-nonce-we-sent"}, "good", "nonce_mismatch", True),
    ("no_nonce", {"nonce": None}, "good", "nonce_mismatch", True),
    ("bad_signature_under_a_published_kid", {}, "bad_signature", "id_token_invalid", True),
    ("unknown_kid", {}, "unknown_kid", "signing_key_unknown", False),
    ("alg_hs256_keyed_with_the_public_key", {}, "hs256", "id_token_invalid", True),
    ("alg_none", {}, "none", "id_token_invalid", True),
    ("non_canonical_base64url", {}, "padded", "id_token_invalid", True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "signing", "reason", "circumvention"),
    [pytest.param(*case[1:], id=case[0]) for case in ID_TOKEN_CASES],
)
async def test_hostile_id_token_is_refused_with_no_partial_state(
    tmp_path: Path,
    idp: HostileIdp,
    overrides: dict[str, Any],
    signing: Signing,
    reason: str,
    circumvention: bool,
) -> None:
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank")}) as env:
        check, url = await login(env.run, "target")
        idp.overrides, idp.signing = overrides, signing
        before = await env.snapshot()
        await refused(env, url, check, reason)
        assert idp.pkce == [True]  # the code was redeemed properly; the ID token was the problem
        await assert_refused_cleanly(env, check, before, circumvention=circumvention)
        view = (await env.run.http.get(f"/v1/checks/{check['check_id']}", headers=AUTH)).json()
        assert view["status"] == "pending" and view["attempts_left"] == 4


async def test_id_token_from_another_issuer_is_a_mix_up(tmp_path: Path) -> None:
    with hostile_idp() as bank, hostile_idp() as eid:
        idps = {"bank": idp_config(bank, "bank"), "eid": idp_config(eid, "eid")}
        async with hostile_env(tmp_path, idps) as env:
            check, url = await login(env.run, "mixed")
            # bank's token endpoint hands out a token that names eid as its issuer.
            bank.overrides = {"iss": eid.issuer}
            before = await env.snapshot()
            await refused(env, url, check, "issuer_mismatch")
            await assert_refused_cleanly(env, check, before, circumvention=True)


async def test_a_valid_login_at_the_hostile_idp_passes(tmp_path: Path, idp: HostileIdp) -> None:
    """The baseline: the same server, behaving, gives a pass (so each refusal above is the case's)."""
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank")}) as env:
        check, url = await login(env.run, "baseline")
        assert back(await callback(env.run, url)) == {"check_id": check["check_id"], "outcome": "passed"}
        record = await env.run.services.store.records.get_record(check["sid"])
        assert record is not None and (record.band, record.level) == ("18_plus", "highly_effective")
        # Neither the IdP's subject identifier nor the birth date is logged or stored.
        stored = b"".join((await env.snapshot()).values())
        for secret in ("pairwise-", "1990-05-17"):
            assert secret not in env.run.logs.getvalue() and secret.encode() not in stored


# --- 3. RFC 9207: the iss parameter of the authorization response ------------------------------


async def test_rfc9207_advertised_iss_must_be_present_and_right(tmp_path: Path) -> None:
    with hostile_idp(advertise_iss=True) as bank, hostile_idp() as eid:
        idps = {"bank": idp_config(bank, "bank"), "eid": idp_config(eid, "eid")}
        async with hostile_env(tmp_path, idps) as env:
            check, url = await login(env.run, "with-iss")
            assert parse_qs(urlsplit(url).query)["iss"] == [bank.issuer]
            assert back(await callback(env.run, url))["outcome"] == "passed"

            wrong = (("iss-missing", None), ("iss-of-eid", eid.issuer), ("iss-slash", bank.issuer + "/"))
            for subject, iss in wrong:
                check, url = await login(env.run, subject)
                tokens = bank.hits["token"]
                before = await env.snapshot()
                await refused(env, url, check, "issuer_mismatch", iss=iss)
                assert bank.hits["token"] == tokens  # the code never went to a token endpoint
                await assert_refused_cleanly(env, check, before, circumvention=True)


async def test_rfc9207_iss_may_be_absent_when_not_advertised(tmp_path: Path, idp: HostileIdp) -> None:
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank")}) as env:
        check, url = await login(env.run, "no-iss")
        assert "iss" not in parse_qs(urlsplit(url).query)
        assert back(await callback(env.run, url)) == {"check_id": check["check_id"], "outcome": "passed"}


# --- 4. the identity provider slow, failing or down at the token exchange ----------------------


async def assert_untouched_but_for_the_marker(
    env: Env, check: dict[str, Any], before: dict[str, bytes]
) -> None:
    assert await env.changes(before) == {"once:{}": "added"}
    view = (await env.run.http.get(f"/v1/checks/{check['check_id']}", headers=AUTH)).json()
    assert (view["status"], view["attempts_left"], view["methods_tried"]) == ("pending", 5, [])


async def test_idp_slow_at_the_token_exchange_is_503_within_the_timeout(tmp_path: Path) -> None:
    with hostile_idp(token_delay=10.0) as idp:
        async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank", timeout_seconds=0.5)}) as env:
            check, url = await login(env.run, "patient")
            before = await env.snapshot()
            t0 = time.monotonic()
            r = await callback(env.run, url)
            elapsed = time.monotonic() - t0
            assert (r.status_code, r.json()["code"]) == (503, "identity_provider_unavailable")
            assert 0.45 < elapsed < 0.5 + 1.5, elapsed  # the timeout, not the 10 s delay
            await assert_untouched_but_for_the_marker(env, check, before)


async def test_idp_failing_at_the_token_exchange_is_503(tmp_path: Path) -> None:
    with hostile_idp(token_status=502) as idp:
        async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank")}) as env:
            check, url = await login(env.run, "unlucky")
            before = await env.snapshot()
            r = await callback(env.run, url)
            assert (r.status_code, r.json()["code"]) == (503, "identity_provider_unavailable")
            await assert_untouched_but_for_the_marker(env, check, before)
            # The check is intact: once the provider answers again, the same check passes.
            idp.token_status = None
            r = await start(env.run, check["check_id"])
            again = await callback(env.run, await authorize(r.headers["location"]))
            assert back(again) == {"check_id": check["check_id"], "outcome": "passed"}


async def test_idp_down_at_the_token_exchange_is_503_at_once(tmp_path: Path) -> None:
    with ExitStack() as stack:
        idp = stack.enter_context(hostile_idp())
        async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank", timeout_seconds=1.0)}) as env:
            check, url = await login(env.run, "stranded")
            stack.close()  # the identity provider goes down between the login and the callback
            before = await env.snapshot()
            t0 = time.monotonic()
            r = await callback(env.run, url)
            assert (r.status_code, r.json()["code"]) == (503, "identity_provider_unavailable")
            assert time.monotonic() - t0 < 1.0 + 1.0  # refused at once; a second's margin for load
            await assert_untouched_but_for_the_marker(env, check, before)


# --- 5. PKCE: the identity provider checks the verifier we send --------------------------------


async def test_pkce_verifier_sent_matches_the_challenge(tmp_path: Path, idp: HostileIdp) -> None:
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank")}) as env:
        for subject in ("pkce-1", "pkce-2"):
            _, url = await login(env.run, subject)
            assert back(await callback(env.run, url))["outcome"] == "passed"
        assert idp.pkce == [True, True]  # the hostile server recomputed S256(verifier) each time
        challenges = [q["code_challenge"] for q in idp.authorize_queries]
        assert all(q["code_challenge_method"] == "S256" for q in idp.authorize_queries)
        assert len(set(challenges)) == 2  # a fresh verifier per login


async def test_code_redeemed_with_another_logins_verifier_fails_pkce(tmp_path: Path, idp: HostileIdp) -> None:
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank")}) as env:
        _, url_a = await login(env.run, "victim")
        check_b, url_b = await login(env.run, "attacker")
        # B's state (sealing B's nonce and PKCE verifier) with A's code: code injection.
        code_a = parse_qs(urlsplit(url_a).query)["code"][0]
        before = await env.snapshot()
        await refused(env, url_b, check_b, "token_exchange_failed", code=code_a)
        assert idp.pkce == [False]  # refused at the token endpoint: A's challenge, B's verifier
        await assert_refused_cleanly(env, check_b, before, circumvention=False)


async def test_tampered_state_is_refused_before_anything_is_stored(tmp_path: Path, idp: HostileIdp) -> None:
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank")}) as env:
        check, url = await login(env.run, "tamper")
        state = parse_qs(urlsplit(url).query)["state"][0]
        flipped = state[:40] + ("A" if state[40] != "A" else "B") + state[41:]
        before = await env.snapshot()
        for bad in (flipped, state[:-4], state + "AAAA"):
            r = await callback(env.run, url, state=bad)
            assert (r.status_code, r.json()["code"]) == (400, "invalid_state")
        assert await env.changes(before) == {}
        assert idp.hits["token"] == 0  # the code was never redeemed
        # The real state still works: a tampered copy burnt nothing.
        assert back(await callback(env.run, url)) == {"check_id": check["check_id"], "outcome": "passed"}


async def test_respelled_state_is_refused_before_and_after_its_use(tmp_path: Path, idp: HostileIdp) -> None:
    # The state's digest is its single-use marker: a second spelling of the same bytes (padding,
    # non-zero dropped bits) must not pass as a fresh state, before or after the real one is used.
    async with hostile_env(tmp_path, {"bank": idp_config(idp, "bank")}) as env:
        check, url = await login(env.run, "respell")
        state = parse_qs(urlsplit(url).query)["state"][0]
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        respelled = [state + "=" * (-len(state) % 4 or 1), state + "=="]
        if len(state) % 4:  # the last character has dropped bits
            respelled.append(state[:-1] + alphabet[alphabet.index(state[-1]) + 1])
        before = await env.snapshot()
        for bad in respelled:
            r = await callback(env.run, url, state=bad)
            assert (r.status_code, r.json()["code"]) == (400, "invalid_state")
        assert await env.changes(before) == {}
        assert back(await callback(env.run, url)) == {"check_id": check["check_id"], "outcome": "passed"}
        tokens = idp.hits["token"]
        for bad in respelled:
            r = await callback(env.run, url, state=bad)
            assert (r.status_code, r.json()["code"]) == (400, "invalid_state")
        assert idp.hits["token"] == tokens  # no second redemption was attempted
