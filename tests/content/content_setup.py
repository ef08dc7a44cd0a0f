"""Performers for the content tests: subjects of client ``demo`` assured at a chosen level, as a
credential or an eID check leaves them, and a clients file whose webhook events can be read back."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from factories import AUTH, Running, make_settings

from service.app import DEMO_ADMIN_KEY, DEMO_CLIENT_KEY
from service.clients.registry import hash_key
from service.core.dates import day_of
from service.core.ids import derive_sid
from service.settings import Settings
from service.store.records import AssuranceRecord

PEPPER = b"p" * 32  # make_settings' pepper
MEDIA = "sha256:" + hashlib.sha256(b"the media file").hexdigest()
OTHER_MEDIA = "sha256:" + hashlib.sha256(b"another media file").hexdigest()


def webhook_settings(directory: Path, **overrides: Any) -> Settings:
    """Client ``demo`` with a webhook (never delivered here: events are read from the store)."""
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    doc = {
        "clients": [
            {
                "id": "demo",
                "api_keys": [hash_key(DEMO_CLIENT_KEY)],
                "jurisdictions": ["*"],
                "webhook": {"url": "http://127.0.0.1:9/hooks", "secret": secret},
            }
        ],
        "admins": [{"id": "ops", "api_keys": [hash_key(DEMO_ADMIN_KEY)]}],
    }
    path = directory / "clients.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return make_settings(clients_file=path, **overrides)


@dataclass
class Performer:
    subject: str
    sid: str


async def performer(
    run: Running,
    subject: str,
    *,
    lower_age: int | None = 30,
    level: str = "highly_effective",
    method: str = "age_credential",
    band: str = "18_plus",
    assured_at: date | None = None,
    recheck_in: timedelta = timedelta(days=365),
) -> Performer:
    """A subject whose record a passing credential (or eID) check left: its band, level and the
    lower edge in years it established on ``assured_at`` (today by default)."""
    sid = derive_sid(PEPPER, "demo", subject)
    assured = assured_at or day_of(run.clock.now())
    record = AssuranceRecord(
        sid=sid, client_id="demo", band=band, level=level, method=method, jurisdiction="default",
        assured_at=assured, recheck_at=assured + recheck_in, age_up_at=None,
        policy_version=run.services.policy.current.version, lower_age=lower_age,
        upper_level=None,
    )  # fmt: skip
    await run.services.store.records.put_record(record, ttl=86_400 * 400)
    return Performer(subject, sid)


async def fresh_token(run: Running, who: Performer) -> str:
    r = await run.http.post("/v1/tokens/refresh", json={"sid": who.sid}, headers=AUTH)
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


async def register(
    run: Running, *people: Performer, uploader: Performer | None = None, recorded: str = "2025-06",
    reference: str = "video-1", jurisdiction: str = "default",
) -> dict[str, Any]:  # fmt: skip
    r = await run.http.post(
        "/v1/content",
        json={
            "reference": reference,
            "content_hash": MEDIA,
            "recorded": recorded,
            "depicted": [p.sid for p in people],
            "uploader": (uploader or people[0]).sid,
            "jurisdiction": jurisdiction,
        },
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def consent(run: Running, content_id: str, who: Performer, media: str = MEDIA) -> dict[str, Any]:
    token = await fresh_token(run, who)
    r = await run.http.post(
        f"/v1/content/{content_id}/consent", json={"token": token, "content_hash": media}, headers=AUTH
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def status(run: Running, content_id: str) -> dict[str, Any]:
    r = await run.http.get(f"/v1/content/{content_id}", headers=AUTH)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def reasons(body: dict[str, Any]) -> list[list[str]]:
    return [p["reasons"] for p in body["people"]]


async def queued_events(run: Running) -> list[dict[str, Any]]:
    """The webhook events queued so far (read from the store's stream, as the worker would)."""
    events = run.services.store.events
    await events.ensure_group("test-reader")
    deliveries = await events.read_events("test-reader", "t", 1000, 0)
    return [json.loads(d.event.body) for d in deliveries]
