"""The PII detectors find personal values and pass what ageband writes itself.

Dates are judged by their place: a date of any age is a finding, except in a field where the
service writes a date of its own, in its own format."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest

from service.audit.detectors import scan_text, scan_value

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
    assert detector in {f.detector for f in scan_text(text)}


@pytest.mark.parametrize(
    "text",
    [
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
    assert scan_text(text) == []


def test_random_ids_pass() -> None:
    for _ in range(2000):
        for text in ("sid_" + secrets.token_urlsafe(32), "chk_t9z8k0_" + secrets.token_urlsafe(16)):
            assert scan_text(text) == [], text


def test_findings_name_the_place_never_the_value() -> None:
    (finding,) = scan_value({"errors": [{"msg": "a@b.example"}]})
    assert finding.path == "errors[0].msg" and "a@b" not in repr(finding)


# A child's birth date is recent; a date written by the service may be years old. Neither age
# tells them apart: only the place does.
RECENT_BIRTH = "2024-11-02"  # a two-year-old's
OLD_OWN_DAY = "2019-01-01"  # an assured_at day of a record kept for years


@pytest.mark.parametrize(
    "text", [RECENT_BIRTH, "2026-03-10", "02.11.2024", "20241102", "2024-11-02T00:00:00Z"]
)
def test_a_date_of_any_age_is_a_finding_outside_our_own_date_fields(text: str) -> None:
    assert {f.detector for f in scan_text(text)} == {"date_of_birth"}
    value = {"note": text, "items": [{"day": "x", "other": text}], text: 1}
    own = {"items[].day": "day", "timestamp": "timestamp"}
    paths = {f.path for f in scan_value(value, own_dates=own)}
    assert paths == {"note", "items[0].other", f"{text}<key>"}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (OLD_OWN_DAY, "day"),
        ("2026-06-08", "day"),
        ("2026-03-10T12:00:00.123456Z", "timestamp"),
        ("2026-03-10T12:00:00+00:00", "timestamp"),
    ],
)
def test_our_own_dates_pass_in_their_own_fields_only(text: str, kind: str) -> None:
    assert scan_text(text, own_date=kind) == []
    assert scan_value({"items": [{"day": text}]}, own_dates={"items[].day": kind}) == []
    assert [f.detector for f in scan_text(text)] == ["date_of_birth"]  # anywhere else: a finding


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("born 2019-01-01", "day"),  # more than the date
        ("01.01.2019", "day"),  # not our format
        ("2019-01-01", "timestamp"),  # a day where we write a timestamp
        ("2019-01-01T00:00:00Z jane@example.com", "timestamp"),
    ],
)
def test_an_own_date_field_holding_anything_but_our_format_is_a_finding(text: str, kind: str) -> None:
    assert "date_of_birth" in {f.detector for f in scan_text(text, own_date=kind)}
