"""The PII detectors find personal values and pass what ageband writes itself."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime

import pytest

from service.audit.detectors import scan_text, scan_value

NOW = datetime(2026, 3, 10, tzinfo=UTC)
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF").decode()


@pytest.mark.parametrize(
    ("text", "detector"),
    [
        ("jane.doe+x@example.co.uk", "email"),
        ("born 1987-04-17", "date_of_birth"),
        ("17.04.1987", "date_of_birth"),
        ("04/17/1987", "date_of_birth"),
        ("+44 20 7946 0958", "phone"),
        ("(555) 123-4567", "phone"),
        ("XK1234567", "document_number"),
        ("123-45-6789", "document_number"),
        ("P<GBRSMITH<<JOHN<<<<<<<<", "document_number"),
        (JPEG, "image_base64"),
        ("data:image/png;base64,AAAA", "image_base64"),
        ("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln", "jwt"),
    ],
)
def test_detects(text: str, detector: str) -> None:
    assert detector in {f.detector for f in scan_text(text, now=NOW)}


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-10T12:00:00.123456Z",  # our timestamps
        "2026-06-08",  # a re-check day
        "2025-03-01",  # an assured_at day within retention
        "1741608000",  # epoch seconds
        hashlib.sha256(b"x").hexdigest(),
        # Fixed samples (xdist workers must collect the same ids); the property is random below.
        "sid_GuoxHku8PW9y7RCoVwe5Wtv0XuKHhOhAQt3dl3i2prY",
        "chk_t9z8k0_AzHZXZpHhzg45a6gK6khJw",
        "sref_093435d65419233f0ed83d59c8eb3f20",
        "urn:ageband:dev",
    ],
)
def test_passes_our_own_values(text: str) -> None:
    assert scan_text(text, now=NOW) == []


def test_random_ids_pass() -> None:
    for _ in range(2000):
        for text in ("sid_" + secrets.token_urlsafe(32), "chk_t9z8k0_" + secrets.token_urlsafe(16)):
            assert scan_text(text, now=NOW) == [], text


def test_findings_name_the_place_never_the_value() -> None:
    (finding,) = scan_value({"errors": [{"msg": "a@b.example"}]}, now=NOW)
    assert finding.path == "errors[0].msg" and "a@b" not in repr(finding)
