"""Verifying ageband's webhooks (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
``webhook-signature``), by the Standard Webhooks reference library: the HMAC over
``"<id>.<timestamp>.<body>"``, compared in constant time, and a timestamp within five minutes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

MAX_BODY_BYTES = 64 * 1024  # ageband's events are a few hundred bytes


class InvalidWebhook(ValueError):
    """Not a webhook from ageband (wrong signature, stale or missing headers, oversized body)."""


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes | str) -> dict[str, Any]:
    """The event, once its signature and timestamp check out; ``secret`` is ``whsec_...``.

    Pass the raw body as received: a re-serialised body no longer matches its signature."""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidWebhook("body too large")
    wanted = {k.lower(): v for k, v in headers.items() if k.lower().startswith("webhook-")}
    try:
        event = Webhook(secret).verify(raw, wanted)
    except WebhookVerificationError as err:
        raise InvalidWebhook(str(err)) from None
    if not isinstance(event, dict):
        raise InvalidWebhook("event is not a JSON object")
    return event
