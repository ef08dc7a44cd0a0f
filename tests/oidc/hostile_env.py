"""ageband wired to HostileIdp instances over loopback, on a real Redis under a prefix of the
test's own, with helpers to drive the redirect flow and to see exactly what the store gained."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import redis.asyncio
from factories import AUTH, Running, default_waterfall_line, make_settings, running, write_policy
from hostile_idp import CLIENT_ID, CLIENT_SECRET, HostileIdp
from redis_server import delete_prefix, redis_url

from service.app import DEMO_ADMIN_KEY, DEMO_CLIENT_KEY
from service.clients.registry import hash_key

RETURN = "https://app.example/age-check/done"
BASIC = "required_level: {under_13: basic, 13_15: basic, 16_17: basic, 18_plus: basic}"
# Every band but the youngest needs a verification: an OS signal alone steps up.
STRICT = (
    "required_level: {under_13: basic, "
    + ", ".join(f"{band}: highly_effective" for band in ("13_15", "16_17", "18_plus"))
    + "}"
)


def idp_config(idp: HostileIdp, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "issuer": idp.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": f"http://localhost/v1/oidc/{name}/callback",
        "age_over_claims": {"age_over_18": 18},
        "allow_insecure_loopback": True,
        # Generous: a loaded CI machine must not turn a healthy provider into a 503.
        "timeout_seconds": 5.0,
        **extra,
    }


def settings(
    directory: Path, prefix: str, idps: dict[str, dict[str, Any]], waterfall: list[str] | None = None
) -> Any:
    names = list(idps)
    methods = "".join(f"  {n}:\n    class: eid_oidc\n    level: highly_effective\n" for n in names)
    order = waterfall or [*names, "self_declaration"]
    policy = write_policy(
        directory,
        replace={
            default_waterfall_line(): f"waterfall: [{', '.join(order)}]",
            BASIC: STRICT,
            "\nmethods:\n": "\nmethods:\n" + methods,
        },
    )
    clients = directory / "clients.yaml"
    clients.write_text(
        json.dumps(
            {
                "clients": [{"id": "demo", "api_keys": [hash_key(DEMO_CLIENT_KEY)], "return_urls": [RETURN]}],
                "admins": [{"id": "ops", "api_keys": [hash_key(DEMO_ADMIN_KEY)]}],
            }
        )
    )
    return make_settings(
        policy_path=policy,
        clients_file=clients,
        store={"backend": "redis", "redis_url": redis_url(), "prefix": prefix},
        providers={
            "enabled": ["os_signal", "self_declaration", *names],
            "instances": {n: {"type": "eid_oidc", "config": cfg} for n, cfg in idps.items()},
        },
    )


@dataclass
class Env:
    run: Running
    prefix: str
    redis: redis.asyncio.Redis

    async def snapshot(self) -> dict[str, bytes]:
        """Every key under the test's prefix with its content, read plainly (not DUMP, whose
        compression would hide a canary from a byte search)."""
        out: dict[str, bytes] = {}
        async for raw in self.redis.scan_iter(match=f"{self.prefix}:*", count=500):
            key = raw.decode()
            content = await _read(self.redis, key)
            if content is not None:
                out[key] = repr(content).encode()
        return out

    async def changes(self, before: dict[str, bytes]) -> dict[str, str]:
        """What the store gained since ``before``: key class -> "added" / "changed" / "removed".

        A key class is the key without its prefix and with each hash tag ``{...}`` emptied, e.g.
        ``once:{}`` or ``sub:{}:rec``; key names hold only pseudonyms, so this loses nothing."""
        after = await self.snapshot()
        out: dict[str, str] = {}
        for key in before.keys() | after.keys():
            if before.get(key) == after.get(key):
                continue
            how = "added" if key not in before else "removed" if key not in after else "changed"
            out.setdefault(_key_class(self.prefix, key), how)
        return out


async def _read(r: redis.asyncio.Redis, key: str) -> object:
    kind = (await r.type(key)).decode()
    if kind == "string":
        return await r.get(key)
    if kind == "hash":
        return sorted((await r.hgetall(key)).items())
    if kind == "set":
        return sorted(await r.smembers(key))
    if kind == "zset":
        return await r.zrange(key, 0, -1, withscores=True)
    if kind == "list":
        return await r.lrange(key, 0, -1)
    if kind == "stream":
        return await r.xrange(key)
    return None  # gone meanwhile


def _key_class(prefix: str, key: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", key.removeprefix(prefix + ":"))


@asynccontextmanager
async def hostile_env(
    directory: Path, idps: dict[str, dict[str, Any]], waterfall: list[str] | None = None
) -> AsyncIterator[Env]:
    prefix = f"oidc{uuid.uuid4().hex[:12]}"
    admin = redis.asyncio.Redis.from_url(redis_url())
    try:
        # The identity provider stamps real times into its ID tokens; the app's clock agrees.
        async with running(settings(directory, prefix, idps, waterfall), at=datetime.now(UTC)) as run:
            yield Env(run, prefix, admin)
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()


async def start(run: Running, check_id: str, name: str = "bank") -> httpx.Response:
    return await run.http.get(
        f"/v1/checks/{check_id}/oidc/{name}/start", params={"return_url": RETURN}, headers=AUTH
    )


async def authorize(location: str) -> str:
    """Follow ageband's redirect to the identity provider; returns the callback URL it sends back."""
    async with httpx.AsyncClient() as browser:
        r = await browser.get(location)
    assert r.status_code == 302, r.text
    return str(r.headers["location"])


async def login(run: Running, subject: str, name: str = "bank") -> tuple[dict[str, Any], str]:
    check = await run.start_check(subject)
    r = await start(run, check["check_id"], name)
    assert r.status_code == 303, r.text
    return check, await authorize(r.headers["location"])


def callback_params(url: str, **replace: str | None) -> dict[str, str]:
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    for k, v in replace.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = v
    return params


async def callback(run: Running, url: str, name: str = "bank", **replace: str | None) -> httpx.Response:
    return await run.http.get(f"/v1/oidc/{name}/callback", params=callback_params(url, **replace))


def back(r: httpx.Response) -> dict[str, str]:
    """The app's return URL the callback redirected to, as its query parameters."""
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith(RETURN + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
