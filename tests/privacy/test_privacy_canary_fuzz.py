"""Hypothesis-generated canary payloads through every endpoint and provider error path.

Each example sends personal-looking values (e-mail addresses, birth dates, phone numbers,
document numbers, base64 images, JWT-like strings) in every field, header, path and query
that an app controls, plus a provider that fails with the evidence in its message and
locals. None may show up in the logs, the store (the whole Redis prefix), the responses,
or the tokens; the privacy report over the logs must find no violation.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import redis.asyncio
from factories import ADMIN, AUTH, make_settings, running
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis_server import delete_prefix, redis_url

from providers.base import Flow, Outcome, ProviderContext, Unavailability
from providers.registry import Registry
from service.privacy.report import build_report

_tag = st.text("abcdefghjkmnpqrstuvwxyz", min_size=6, max_size=10)
_emails = st.builds(lambda a, b: f"{a}.canary@{b}.example.org", _tag, _tag)


def _date(y: int, m: int, d: int, sep: str) -> str:
    return f"{y:04d}-{m:02d}-{d:02d}" if sep == "-" else f"{d:02d}{sep}{m:02d}{sep}{y:04d}"


_birth_dates = st.builds(
    _date, st.integers(1920, 2015), st.integers(1, 12), st.integers(1, 28), st.sampled_from(["-", ".", "/"])
)
_phones = st.builds(lambda a, b, c: f"+44 {a} {b} {c}", st.integers(10, 99), st.integers(1000, 9999),
                    st.integers(1000, 9999))  # fmt: skip
_documents = st.builds(
    lambda a, n: f"{a}{n}", st.sampled_from(["XK", "PA", "ZR"]), st.integers(1000000, 99999999)
)
_images = st.builds(
    lambda raw: base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + raw).decode(),
    st.binary(min_size=8, max_size=24),
)
_jwts = st.builds(
    lambda sub: "eyJhbGciOiJub25lIn0." + base64.urlsafe_b64encode(json.dumps({"sub": sub}).encode()).decode()
    + ".c2ln", _tag,
)  # fmt: skip
CANARIES = st.one_of(_emails, _birth_dates, _phones, _documents, _images, _jwts)


class LeakyProvider:
    """A provider that fails the way careless vendor code does: evidence in the message and locals."""

    method_class: ClassVar[str] = "os_signal"
    evidence_kinds: ClassVar[tuple[str, ...]] = ("os_signal",)
    flow: ClassVar[Flow] = Flow.SUBMIT

    @property
    def name(self) -> str:
        return "os_signal"

    def unavailable(self) -> Unavailability | None:
        return None

    async def submit(self, evidence: Mapping[str, Any], ctx: ProviderContext) -> Outcome:
        secret_copy = dict(evidence)
        raise RuntimeError(f"vendor rejected {secret_copy}")


async def _send_everywhere(http: httpx.AsyncClient, canary: str) -> list[httpx.Response]:
    out: list[httpx.Response] = []

    async def call(method: str, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", AUTH)
        r = await http.request(method, url, **kwargs)
        out.append(r)
        return r

    r = await call(
        "POST", "/v1/checks", json={"subject": canary, "jurisdiction": "default", "purpose": "signup"}
    )
    assert r.status_code == 201, r.text
    check, sid = r.json()["check_id"], r.json()["sid"]
    ev = f"/v1/checks/{check}/evidence"
    await call("POST", "/v1/checks", json={"subject": canary, "jurisdiction": canary})
    await call("POST", "/v1/checks", json={"subject": "x", "jurisdiction": "default", "purpose": canary})
    await call("POST", "/v1/checks", json={"sid": canary, "jurisdiction": "default"})
    await call("POST", ev, json={"method": canary})
    await call("POST", ev, json={"method": "self_declaration", "birth_year": canary})
    await call("POST", ev, json={"method": "self_declaration", "band": canary, "note": canary})
    await call("POST", ev, json={"method": "os_signal", "source": "apple", "declaration": canary})
    await call("GET", f"/v1/checks/{canary}")
    await call("POST", f"/v1/checks/{canary}/evidence", json={"method": "self_declaration"})
    await call("POST", "/v1/tokens/refresh", json={"subject": canary})
    await call("POST", "/v1/tokens/refresh", json={"sid": canary})
    await call("POST", "/v1/tokens/introspect", data={"token": canary})
    await call("POST", "/v1/tokens/introspect", json={"token": canary})
    await call("GET", "/v1/rechecks/due", params={"before": canary, "cursor": canary, "limit": canary})
    await call("POST", "/v1/subjects/revoke", json={"sid": canary})
    await call("POST", "/v1/subjects/erase", json={"subject": canary})
    await call("GET", "/v1/privacy/inventory", headers={"Accept-Language": canary})
    await call("POST", "/v1/checks", json={"subject": "y", "jurisdiction": "default"},
               headers={"Authorization": f"Bearer {canary}"})  # fmt: skip
    await call("POST", "/v1/admin/clock", json={"advance": canary}, headers=ADMIN)
    await call("POST", f"/v1/checks?redirect=https://app.example/cb?code={canary}", json={"subject": canary})
    # A passing check and its token, then refresh and introspection with the real token.
    r = await call("POST", ev, json={"method": "self_declaration", "birth_year": 1990})
    token = r.json().get("token", {}).get("token") if r.status_code == 200 else None
    if token:
        await call("POST", "/v1/tokens/introspect", data={"token": token})
    await call("POST", "/v1/tokens/refresh", json={"sid": sid})
    return out


@pytest.mark.anyio
@pytest.mark.redis
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(canary=CANARIES)
async def test_canaries_leak_nowhere(canary: str, tmp_path: Path) -> None:
    url, prefix = redis_url(), f"fuzz{uuid.uuid4().hex[:8]}"
    app_settings = make_settings(
        store={"backend": "redis", "redis_url": url, "prefix": prefix}, dev_clock=True
    )
    admin = redis.asyncio.Redis.from_url(url)
    try:
        async with running(app_settings) as run:
            responses = await _send_everywhere(run.http, canary)
            # The provider error path: a vendor failure quoting the evidence.
            svc = run.services
            leaky = Registry(
                {**{n: svc.providers.get(n) for n in svc.providers.names}, "os_signal": LeakyProvider()}
            )
            run.use_providers(leaky)
            r = await run.http.post(
                "/v1/checks", json={"subject": canary, "jurisdiction": "default"}, headers=AUTH
            )
            responses.append(r)
            if r.status_code == 201:
                body = {"method": "os_signal", "source": "google_play", "user_status": canary}
                responses.append(await run.evidence(r.json()["check_id"], body))
            stored = [k.decode() async for k in admin.scan_iter(match=f"{prefix}:*")]
            stored += [
                (await admin.dump(k) or b"").decode("latin-1")
                async for k in admin.scan_iter(match=f"{prefix}:*")
            ]
            logs = run.logs.getvalue()
        failed = [r.json()["code"] for r in responses if r.status_code >= 500]
        assert failed == ["provider_failed"], failed  # the vendor failure, and no other 5xx
        assert '"provider.failed"' in logs and "RuntimeError" in logs
        texts = [r.text for r in responses] + [str(dict(r.headers)) for r in responses]
        tokens = [_payload(t) for text in texts for t in _jwt_like(text)]
        assert canary not in logs, "canary in the logs"
        assert [s for s in stored if canary in s] == [], "canary in the store"
        assert [t for t in texts if canary in t] == [], "canary in a response"
        assert [t for t in tokens if canary in t] == [], "canary in a token"
        log = tmp_path / f"{prefix}.jsonl"
        log.write_text(logs, encoding="utf-8")
        report = build_report([log])
        assert [v for v in report.violations if v.kind != "chain_open"] == []
    finally:
        await delete_prefix(admin, prefix)
        await admin.aclose()


def _jwt_like(text: str) -> list[str]:
    return [w for w in text.replace('"', " ").split() if w.count(".") == 2 and w.startswith("eyJ")]


def _payload(token: str) -> str:
    part = token.split(".")[1]
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()
    except ValueError:
        return ""
