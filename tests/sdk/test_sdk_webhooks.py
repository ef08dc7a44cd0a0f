"""The Python SDK accepts the service's webhook signatures and nothing else."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from ageband_client import InvalidWebhook, verify_webhook

from service.webhooks.signing import signed_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = json.dumps({"type": "recheck.due", "data": {"sid": "sid_" + "a" * 43}})


def test_a_service_signed_event_verifies() -> None:
    # Standard Webhooks verifiers compare the timestamp with the current time (five minutes).
    headers = signed_headers(SECRET, "evt_1", datetime.now(UTC), BODY)
    assert (
        verify_webhook(SECRET, {k.title(): v for k, v in headers.items()}, BODY.encode())["type"]
        == "recheck.due"
    )


def test_tampered_stale_or_foreign_webhooks_are_refused() -> None:
    now = datetime.now(UTC)
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
            verify_webhook(SECRET, headers, body)
