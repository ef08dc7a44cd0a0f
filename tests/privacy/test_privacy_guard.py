"""The PII guard: URL queries redacted, exceptions rendered without message or locals."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from service.audit.chain import AuditChain, AuditStream, event_hash
from service.audit.events import Audit
from service.audit.logging import SecondCachingTimestamper, configure_logging, get_logger


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


def test_an_audit_event_quoting_a_url_is_redacted_before_its_link_is_hashed() -> None:
    sink = io.StringIO()
    configure_logging(sink=sink, audit=AuditStream(AuditChain("t")))
    callback = "https://app.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj"
    Audit().emit("check.failed", detail=f"back from {callback}", errors=[callback, "no url"])
    Audit().emit("check.started", detail="plain")
    first, second = _lines(sink)
    assert "SplxlOBeZQQYbYS6WxSbIA" not in sink.getvalue() and "af0ifjsldkj" not in sink.getvalue()
    assert first["detail"] == "back from https://app.example/cb?[redacted]"
    assert first["errors"] == ["https://app.example/cb?[redacted]", "no url"]
    # The hash covers what was written: the redacted event verifies, and the next link follows it.
    assert first["hash"] == event_hash(first) and second["prev"] == first["hash"]


def test_a_console_line_quoting_a_url_is_redacted() -> None:
    sink = io.StringIO()
    configure_logging(fmt="console", sink=sink, audit=AuditStream(AuditChain("t")))
    get_logger().info("callback", detail="to https://app.example/cb?code=SplxlOBeZQQYbYS6WxSbIA")
    (line,) = sink.getvalue().splitlines()
    assert "SplxlOBeZQQYbYS6WxSbIA" not in line and "https://app.example/cb?[redacted]" in line
    # Rendered again whole: the console renderer takes keys out of the event it is given.
    assert "[info" in line and "callback" in line and re.search(r"\d{4}-\d\d-\d\dT", line)


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


def test_timestamps_are_iso_utc_with_microseconds() -> None:
    sink = io.StringIO()
    configure_logging(sink=sink, audit=AuditStream(AuditChain("t")))
    before = datetime.now(UTC)
    get_logger().info("first")
    after = datetime.now(UTC)
    (line,) = _lines(sink)
    stamp = str(line["timestamp"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp), stamp
    assert before - timedelta(microseconds=1) <= datetime.fromisoformat(stamp) <= after


def test_the_cached_date_text_moves_on_with_the_clock() -> None:
    """The text up to the second is cached; a later second, or a later day, gets its own."""
    times = iter([1_767_225_599.25, 1_767_225_599.999999, 1_767_225_600.5, 1_767_225_600.75])
    stamp = SecondCachingTimestamper(now=lambda: next(times))
    got = [stamp(None, "info", {})["timestamp"] for _ in range(4)]
    assert got == [
        "2025-12-31T23:59:59.250000Z",
        "2025-12-31T23:59:59.999999Z",
        "2026-01-01T00:00:00.500000Z",
        "2026-01-01T00:00:00.750000Z",
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False), min_size=1, max_size=12))
def test_the_cached_stamp_is_always_the_time_it_was_given(times: list[float]) -> None:
    """Whatever order the clock gives (later, earlier, the same second again), each stamp reads
    back as its own time, to the microsecond it truncates to: the cache never serves a second
    that is not the current one."""
    clock = iter(times)
    stamper = SecondCachingTimestamper(now=lambda: next(clock))
    for t in times:
        stamp = stamper(None, "info", {})["timestamp"]
        read = datetime.fromisoformat(stamp)
        exact = datetime.fromtimestamp(int(t), UTC) + timedelta(microseconds=int((t - int(t)) * 1_000_000))
        assert read == exact, (t, stamp)
        fresh = datetime.fromtimestamp(t, UTC)
        assert abs((read - fresh).total_seconds()) <= 1e-6  # the stock stamper's own reading
