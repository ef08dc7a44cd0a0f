"""The PII guard: URL queries redacted, exceptions rendered without message or locals."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime, timedelta

from service.audit.chain import AuditChain, AuditStream
from service.audit.logging import configure_logging, get_logger


def _lines(sink: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def test_urls_with_a_query_are_redacted_in_any_allowlisted_value() -> None:
    sink = io.StringIO()
    configure_logging(sink=sink, audit=AuditStream(AuditChain("t")))
    callback = "https://app.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj"
    get_logger().info(
        "callback", detail=f"redirected to {callback} then back", route="/cb", errors=[callback]
    )
    (line,) = _lines(sink)
    text = json.dumps(line)
    assert "SplxlOBeZQQYbYS6WxSbIA" not in text and "af0ifjsldkj" not in text
    assert line["detail"] == "redirected to https://app.example/cb?[redacted] then back"
    assert line["errors"] == ["https://app.example/cb?[redacted]"]


def test_exceptions_render_without_message_or_locals() -> None:
    sink = io.StringIO()
    configure_logging(sink=sink, audit=AuditStream(AuditChain("t")))

    def fails(evidence: str) -> None:
        birth_date = evidence  # a local holding a personal value
        raise ValueError(f"bad birth date {birth_date}")

    try:
        fails("1984-02-29")
    except ValueError as exc:
        get_logger().error("unhandled_error", exc_info=exc)
    (line,) = _lines(sink)
    assert "1984-02-29" not in sink.getvalue()
    exception = line["exception"]
    assert isinstance(exception, dict) and exception["type"] == "ValueError"
    assert any("in fails" in f for f in exception["frames"])


def test_timestamps_are_iso_utc_with_microseconds_and_follow_the_clock() -> None:
    sink = io.StringIO()
    configure_logging(sink=sink, audit=AuditStream(AuditChain("t")))
    before = datetime.now(UTC)
    get_logger().info("first")
    time.sleep(1.1)  # across a second boundary: the cached date text must move on
    get_logger().info("second")
    after = datetime.now(UTC)
    stamps = [str(line["timestamp"]) for line in _lines(sink)]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", s) for s in stamps), stamps
    first, second = (datetime.fromisoformat(s) for s in stamps)
    assert before - timedelta(seconds=1) < first < second <= after + timedelta(seconds=1)
    assert (second - first) >= timedelta(seconds=1)
