"""Verifying ageband's webhooks (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
``webhook-signature``). The Standard Webhooks reference library computes the expected signature
(HMAC-SHA256 over ``"<id>.<timestamp>.<body>"`` with the ``whsec_`` secret); it is compared in
constant time with each ``v1,`` signature of the header, and the timestamp must be within five
minutes of ``now`` (the clock unless given, so a test pins it)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

MAX_BODY_BYTES = 64 * 1024  # ageband's events are a few hundred bytes
TOLERANCE_SECONDS = 5 * 60
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class InvalidWebhook(ValueError):
    """Not a webhook from ageband (wrong signature, stale or missing headers, oversized body)."""


def verify_webhook(
    secret: str, headers: Mapping[str, str], body: bytes | str, *, now: float | None = None
) -> dict[str, Any]:
    """The event, once its signature and timestamp check out. Pass the raw body as received: a
    re-serialised body no longer matches its signature."""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidWebhook("body too large")
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, ts, signatures = (lower.get(f"webhook-{n}") for n in ("id", "timestamp", "signature"))
    if not msg_id or not ts or not signatures:
        raise InvalidWebhook("missing webhook headers")
    if _TIMESTAMP.fullmatch(ts) is None:
        raise InvalidWebhook("malformed timestamp")
    at = int(ts)
    current = time.time() if now is None else now
    if at < current - TOLERANCE_SECONDS:
        raise InvalidWebhook("message timestamp too old")
    if at > current + TOLERANCE_SECONDS:
        raise InvalidWebhook("message timestamp too new")
    try:
        text = raw.decode("utf-8")
        signed = Webhook(secret).sign(msg_id, datetime.fromtimestamp(at, UTC), text)
        expected = base64.b64decode(signed.split(",", 1)[1])
    except (UnicodeDecodeError, ValueError, binascii.Error):
        raise InvalidWebhook("unusable secret or body") from None
    ok = False
    for part in signatures.split(" "):
        version, _, value = part.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(value)
        except (binascii.Error, ValueError):
            continue
        ok = hmac.compare_digest(given, expected) or ok
    if not ok:
        raise InvalidWebhook("no matching signature")
    try:
        event = json.loads(text)
    except ValueError:
        raise InvalidWebhook("body is not JSON") from None
    if not isinstance(event, dict):
        raise InvalidWebhook("event is not a JSON object")
    return event
