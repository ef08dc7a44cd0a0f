"""Upstream JWKS caching, measured at the identity provider (requests counted by HostileIdp):
one fetch for many logins, one refetch for an unknown ``kid``, none more within the cooldown,
and a key rotation picked up once the cooldown has passed. The cooldown runs on the service's
injected clock, so the tests move that clock instead of sleeping."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hostile_env import Env, back, callback, hostile_env, idp_config, login
from hostile_idp import hostile_idp

pytestmark = pytest.mark.anyio

COOLDOWN = 60  # seconds (the default)


async def outcome(env: Env, subject: str) -> tuple[str, str | None]:
    _, url = await login(env.run, subject)
    result = back(await callback(env.run, url))
    return result["outcome"], result.get("reason")


def pass_time(env: Env, seconds: int) -> None:
    # Well inside the ID tokens' lifetime (the identity provider stamps real times).
    env.run.clock.advance(timedelta(seconds=seconds))


async def test_jwks_cached_refetched_once_per_cooldown_and_rotation_picked_up(tmp_path: Path) -> None:
    with hostile_idp() as idp:
        cfg = idp_config(idp, "bank", jwks_refetch_cooldown_seconds=COOLDOWN)
        async with hostile_env(tmp_path, {"bank": cfg}) as env:
            # Many logins, one JWKS fetch (and one discovery).
            for i in range(5):
                assert await outcome(env, f"many-{i}") == ("passed", None)
            assert (idp.hits["jwks"], idp.hits["discovery"], idp.hits["token"]) == (1, 1, 5)

            # An unknown kid after the cooldown: exactly one refetch, then refused.
            pass_time(env, COOLDOWN)
            idp.signing = "unknown_kid"
            assert await outcome(env, "unknown-0") == ("failed", "signing_key_unknown")
            assert idp.hits["jwks"] == 2

            # More unknown kids within the cooldown: no request upstream at all.
            for i in range(1, 6):
                pass_time(env, 5)
                assert await outcome(env, f"unknown-{i}") == ("failed", "signing_key_unknown")
            assert idp.hits["jwks"] == 2

            # The identity provider rotates its key. Within the cooldown the new kid is not yet
            # fetched; after it, one refetch picks it up and logins pass again.
            idp.signing = "good"
            idp.rotate()
            assert await outcome(env, "rotated-early") == ("failed", "signing_key_unknown")
            assert idp.hits["jwks"] == 2
            pass_time(env, COOLDOWN - 25)  # 60 s since the refetch
            assert await outcome(env, "rotated-0") == ("passed", None)
            assert idp.hits["jwks"] == 3
            for i in range(1, 4):
                assert await outcome(env, f"rotated-{i}") == ("passed", None)
            assert (idp.hits["jwks"], idp.hits["discovery"]) == (3, 1)


async def test_a_failing_jwks_endpoint_is_not_hammered_either(tmp_path: Path) -> None:
    """A refetch that fails still counts for the cooldown: a flood of unknown kids while the
    JWKS endpoint errors gives one 503 and then quick refusals, not a request per login."""
    with hostile_idp() as idp:
        cfg = idp_config(idp, "bank", jwks_refetch_cooldown_seconds=COOLDOWN)
        async with hostile_env(tmp_path, {"bank": cfg}) as env:
            assert await outcome(env, "first") == ("passed", None)
            pass_time(env, COOLDOWN)
            idp.signing, idp.jwks_status = "unknown_kid", 500
            _, url = await login(env.run, "during-outage-0")
            r = await callback(env.run, url)
            assert (r.status_code, r.json()["code"]) == (503, "identity_provider_unavailable")
            assert idp.hits["jwks"] == 2
            for i in range(1, 4):
                pass_time(env, 10)
                assert await outcome(env, f"during-outage-{i}") == ("failed", "signing_key_unknown")
            assert idp.hits["jwks"] == 2
            # Once the cooldown is over and the endpoint answers, the refetch happens again.
            pass_time(env, COOLDOWN - 30)
            idp.jwks_status, idp.signing = None, "good"
            idp.rotate()
            assert await outcome(env, "after-outage") == ("passed", None)
            assert idp.hits["jwks"] == 3
