"""The bound logger's short ``info`` path behaves exactly as structlog's own."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
import structlog

from service.audit.bound_logger import bound_logger_class


class Sink:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def info(self, *args: Any, **kw: Any) -> None:
        self.calls.append((args, kw))

    warning = info


def run(cls: type[Any], last: Any, *, context: dict[str, Any]) -> tuple[list[Any], Sink]:
    seen: list[Any] = []

    def capture(_: Any, name: str, event: MutableMapping[str, Any]) -> Any:
        seen.append((name, dict(event)))
        return last(event)

    sink = Sink()
    log = cls(sink, processors=[capture], context=context)
    log.info("checked", outcome="passed", bound="overridden")
    log.info("step %s of %s", 1, 2)  # positional arguments: structlog's own path
    return seen, sink


@pytest.mark.parametrize(
    "last",
    [
        lambda e: "rendered line",
        lambda e: b"rendered bytes",
        dict,
        lambda e: (("positional",), {"keyword": 1}),
    ],
    ids=["str", "bytes", "dict", "tuple"],
)
def test_info_hands_the_same_event_and_result_on_as_structlog(last: Any) -> None:
    context = {"bound": "from-context", "client": "demo"}
    ours = run(bound_logger_class(0), last, context=context)
    reference = run(structlog.make_filtering_bound_logger(0), last, context=context)
    assert ours[0] == reference[0]
    assert ours[1].calls == reference[1].calls
    assert ours[0][0][1] == {"bound": "overridden", "client": "demo", "outcome": "passed", "event": "checked"}


def test_a_dropped_event_reaches_no_logger() -> None:
    def drop(*_: Any) -> Any:
        raise structlog.DropEvent

    sink = Sink()
    bound_logger_class(0)(sink, processors=[drop], context={}).info("dropped", a=1)
    assert sink.calls == []


def test_levels_below_the_minimum_are_filtered() -> None:
    sink = Sink()
    bound_logger_class(30)(sink, processors=[lambda *a: "line"], context={}).info("quiet", a=1)
    assert sink.calls == []
    bound_logger_class(30)(sink, processors=[lambda *a: "line"], context={}).warning("loud")
    assert sink.calls == [(("line",), {})]
