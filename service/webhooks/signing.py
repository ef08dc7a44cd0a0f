"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).

The signature is ``v1,`` + base64 HMAC-SHA256 over ``"<id>.<timestamp>.<body>"`` with the
secret's bytes (``whsec_`` + base64). The reference library computes it, so receivers using
any Standard Webhooks verifier accept what we send.
"""

from __future__ import annotations

from datetime import datetime

from standardwebhooks import Webhook


def signed_headers(secret: str, event_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three headers for one delivery attempt; ``at`` is when this attempt is sent."""
    if at.tzinfo is None:
        raise ValueError("webhook timestamps need an aware datetime")
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, at, body),
    }
