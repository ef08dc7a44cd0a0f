"""Standard Webhooks signatures: the spec's reference vector, and what a real verifier accepts."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from service.webhooks.signing import signed_headers

# The reference vector published with the Standard Webhooks specification's libraries.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
PAYLOAD = '{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_reference_vector() -> None:
    headers = signed_headers(SECRET, MSG_ID, datetime.fromtimestamp(TIMESTAMP, UTC), PAYLOAD)
    assert headers == {
        "webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP), "webhook-signature": EXPECTED,
    }  # fmt: skip


def test_signature_is_hmac_sha256_of_id_timestamp_body() -> None:
    """The algorithm by hand: base64 HMAC-SHA256 of "id.timestamp.body" with the decoded secret."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{MSG_ID}.{TIMESTAMP}.{PAYLOAD}".encode(), hashlib.sha256).digest()
    assert "v1," + base64.b64encode(mac).decode() == EXPECTED


def test_a_verifier_accepts_fresh_headers_and_rejects_tampering() -> None:
    now = datetime.now(UTC)
    body = '{"type":"subject.flagged","data":{"sid":"sid_x"}}'
    headers = signed_headers(SECRET, "evt_1", now, body)
    assert Webhook(SECRET).verify(body, headers)["type"] == "subject.flagged"
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace("flagged", "revoked"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body, {**headers, "webhook-id": "evt_2"})
    other = "whsec_" + base64.b64encode(b"k" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        signed_headers(SECRET, MSG_ID, datetime(2026, 1, 1), PAYLOAD)
