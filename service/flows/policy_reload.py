"""Policy hot reload: on a file change, SIGHUP or the admin endpoint.

Every reload is all-or-nothing (the holder swaps one reference); an invalid policy leaves the
live one in place, is logged as ``policy.rejected`` and is shown in /readyz until fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from service.audit.logging import get_logger
from service.flows.errors import PolicyRejected
from service.policy.holder import PolicyHolder
from service.policy.yaml_source import PolicyError

MAX_LOGGED_ISSUES = 20


@dataclass(frozen=True, slots=True)
class Reloaded:
    version: str
    changed: bool


def reload_policy(holder: PolicyHolder, trigger: str) -> Reloaded:
    """Reload now. PolicyRejected (with the issues) when the files are invalid."""
    log = get_logger("ageband.policy")
    before = holder.current.version
    try:
        policy = holder.reload()
    except PolicyError as exc:
        issues = [str(i) for i in exc.issues[:MAX_LOGGED_ISSUES]]
        log.warning(
            "policy.rejected", audit=True, pol=before, reason=trigger, count=len(exc.issues), errors=issues
        )
        raise PolicyRejected("the policy files are invalid", errors=issues, policy_version=before) from None
    log.info("policy.loaded", audit=True, pol=policy.version, reason=trigger, files=list(policy.files))
    return Reloaded(policy.version, policy.version != before)


class PolicyReloader:
    """Watches the policy path and listens for SIGHUP while the app runs."""

    def __init__(
        self,
        holder: PolicyHolder,
        *,
        also_on_sighup: Sequence[Callable[[str], Coroutine[Any, Any, None]]] = (),
    ) -> None:
        self._holder = holder
        self._also_on_sighup = tuple(also_on_sighup)  # other reloads one SIGHUP triggers (keys)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sighup = False
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()  # signal-started reloads, kept from the GC

    async def reload(self, trigger: str) -> None:
        async with self._lock:  # one load at a time; the swap itself is atomic anyway
            with contextlib.suppress(PolicyRejected):  # logged and shown in /readyz
                await asyncio.to_thread(reload_policy, self._holder, trigger)

    def start(self, *, watch: bool, sighup: bool) -> None:
        loop = asyncio.get_running_loop()
        if sighup:
            try:
                loop.add_signal_handler(signal.SIGHUP, self._on_sighup, loop)
                self._sighup = True
            except (NotImplementedError, RuntimeError, ValueError):  # no signals here (thread, platform)
                self._sighup = False
        if watch:
            self._task = loop.create_task(self._watch())

    def _on_sighup(self, loop: asyncio.AbstractEventLoop) -> None:
        for reload in (self.reload, *self._also_on_sighup):
            task = loop.create_task(reload("sighup"))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _watch(self) -> None:
        from watchfiles import awatch

        path = self._holder.path
        async for _ in awatch(path, stop_event=self._stop, debounce=200, recursive=False):
            await self.reload("file_change")

    async def stop(self) -> None:
        self._stop.set()
        if self._sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
