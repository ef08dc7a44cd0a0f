"""A circuit breaker for a remote provider: closed → open → half-open → closed.

- **closed**: calls go through; ``failure_threshold`` failures in a row open the circuit.
- **open**: calls are refused at once (the provider reports itself unavailable, so the
  waterfall offers other methods) until ``recovery_seconds`` have passed.
- **half-open**: one probe call goes through; its success closes the circuit, its failure
  opens it again for another ``recovery_seconds``. Other calls are refused meanwhile.

A few dozen lines kept here rather than a dependency: the available libraries are either
synchronous or unmaintained, and this one needs an injectable clock for its tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 5,
        recovery_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or recovery_seconds < 0:
            raise ValueError("failure_threshold must be >= 1 and recovery_seconds >= 0")
        self.failure_threshold = failure_threshold
        self.recovery_seconds = recovery_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._probing or self._clock() - self._opened_at >= self.recovery_seconds:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def retry_in(self) -> float:
        """Seconds until a call could go through again: 0 unless the circuit is open."""
        if self._opened_at is None or self._probing:
            return 0.0
        return max(0.0, self.recovery_seconds - (self._clock() - self._opened_at))

    def would_allow(self) -> bool:
        """Whether a call could go through now, without claiming the half-open probe."""
        state = self.state
        return state is CircuitState.CLOSED or (state is CircuitState.HALF_OPEN and not self._probing)

    def allow(self) -> bool:
        """Claim the right to call: always when closed, once per recovery period when not."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def failure(self) -> bool:
        """Count a failure; True when it (re)opened the circuit."""
        self._failures += 1
        if self._probing or (self._opened_at is None and self._failures >= self.failure_threshold):
            self._opened_at = self._clock()
            self._probing = False
            return True
        return False

    def release(self) -> None:
        """A call that ended without telling anything about the peer (e.g. bad input)."""
        self._probing = False
