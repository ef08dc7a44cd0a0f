"""The circuit breaker: closed → open after N failures → half-open probe → closed (or open again)."""

from __future__ import annotations

import pytest

from providers.circuit import CircuitBreaker, CircuitState


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_opens_after_threshold_failures_in_a_row() -> None:
    clock = Clock()
    cb = CircuitBreaker(failure_threshold=3, recovery_seconds=10, clock=clock)
    assert cb.failure() is False and cb.failure() is False
    cb.success()  # a success resets the count
    assert cb.failure() is False and cb.failure() is False
    assert cb.state is CircuitState.CLOSED and cb.allow()
    assert cb.failure() is True
    assert cb.state is CircuitState.OPEN
    assert not cb.would_allow() and not cb.allow()


def test_half_open_lets_one_probe_through_and_closes_on_success() -> None:
    clock = Clock()
    cb = CircuitBreaker(failure_threshold=1, recovery_seconds=10, clock=clock)
    cb.failure()
    clock.t += 9.9
    assert cb.state is CircuitState.OPEN and not cb.allow()
    clock.t += 0.1
    assert cb.state is CircuitState.HALF_OPEN and cb.would_allow()
    assert cb.allow() is True  # the probe
    assert cb.allow() is False and not cb.would_allow()  # only one at a time
    cb.success()
    assert cb.state is CircuitState.CLOSED and cb.allow()


def test_a_failed_probe_opens_it_again_for_a_full_period() -> None:
    clock = Clock()
    cb = CircuitBreaker(failure_threshold=2, recovery_seconds=5, clock=clock)
    cb.failure()
    cb.failure()
    clock.t += 5
    assert cb.allow()
    assert cb.failure() is True
    assert cb.state is CircuitState.OPEN
    clock.t += 4.9
    assert not cb.allow()
    clock.t += 0.1
    assert cb.allow()


def test_retry_in_is_what_is_left_of_the_open_period() -> None:
    clock = Clock()
    cb = CircuitBreaker(failure_threshold=1, recovery_seconds=10, clock=clock)
    assert cb.retry_in() == 0  # closed
    cb.failure()
    assert cb.retry_in() == 10
    clock.t += 7.5
    assert cb.retry_in() == 2.5
    clock.t += 2.5
    assert cb.retry_in() == 0  # half-open: a probe may go now
    assert cb.allow()
    assert cb.retry_in() == 0  # the probe is out; it decides


def test_release_frees_the_probe_without_a_verdict() -> None:
    clock = Clock()
    cb = CircuitBreaker(failure_threshold=1, recovery_seconds=1, clock=clock)
    cb.failure()
    clock.t += 1
    assert cb.allow()
    cb.release()
    assert cb.state is CircuitState.HALF_OPEN and cb.allow()


@pytest.mark.parametrize(("threshold", "recovery"), [(0, 1.0), (1, -1.0)])
def test_refuses_nonsense_settings(threshold: int, recovery: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(threshold, recovery)
