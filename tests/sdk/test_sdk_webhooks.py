"""The Python SDK accepts the service's webhook signatures and nothing else."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from ageband_client import InvalidWebhook, verify_webhook

from service.webhooks.signing import signed_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # pinned: the receiver's clock is passed in
NOW = AT.timestamp()
BODY = json.dumps({"type": "recheck.due", "data": {"sid": "sid_" + "a" * 43}})


def test_a_service_signed_event_verifies() -> None:
    headers = signed_headers(SECRET, "evt_1", AT, BODY)
    as_received = {k.title(): v for k, v in headers.items()}  # header names in any case
    assert verify_webhook(SECRET, as_received, BODY.encode(), now=NOW)["type"] == "recheck.due"


def test_tampered_stale_or_foreign_webhooks_are_refused() -> None:
    now = AT
    good = signed_headers(SECRET, "evt_1", now, BODY)
    cases = [
        (good, BODY.replace("recheck.due", "subject.revoked")),  # body changed
        ({**good, "webhook-id": "evt_2"}, BODY),  # id changed
        (signed_headers(SECRET, "evt_1", now - timedelta(minutes=10), BODY), BODY),  # replayed late
        (signed_headers("whsec_" + "QUJD" * 8, "evt_1", now, BODY), BODY),  # another secret
        ({k: v for k, v in good.items() if k != "webhook-signature"}, BODY),
        (good, "x" * (65 * 1024)),
    ]
    for headers, body in cases:
        with pytest.raises(InvalidWebhook):
            verify_webhook(SECRET, headers, body, now=NOW)
