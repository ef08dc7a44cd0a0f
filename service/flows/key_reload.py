"""Signing-key hot reload: the key manifest (``AGEBAND_TOKENS__KEYS_FILE``) is re-read on a
change in its directory, on SIGHUP and on the admin endpoint.

Every replica reads the same manifest (a Secret mounted as files), so a rotation converges on
all of them without a restart. Like the policy, a reload is all-or-nothing: an unreadable
manifest or key, or a ring without exactly one active key, leaves the live ring in place.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

from service.audit.logging import get_logger
from service.flows.errors import KeysNotReloadable, KeysRejected
from service.tokens.keys import KeyConfigError, KeyRing, load_key_manifest


@dataclass(frozen=True, slots=True)
class KeysReloaded:
    active: str
    kids: list[str]
    changed: bool


def _load(keys_file: Path | None) -> KeyRing:
    if keys_file is None:
        raise KeysNotReloadable("no key manifest configured")
    try:
        return load_key_manifest(keys_file)
    except KeyConfigError as exc:
        # The message names the file and the problem, never key material.
        get_logger("ageband.tokens").warning("keys.rejected", audit=True, errors=[str(exc)])
        raise KeysRejected("the key manifest is invalid", errors=[str(exc)]) from None


def _adopt(keyring: KeyRing, ring: KeyRing, trigger: str) -> KeysReloaded:
    before = [k.kid for k in keyring.keys], keyring.signing_key.kid
    keyring.adopt(ring)
    kids = [k.kid for k in ring.keys]
    get_logger("ageband.tokens").info(
        "keys.loaded", audit=True, reason=trigger, kid=ring.signing_key.kid, keys=kids
    )
    return KeysReloaded(ring.signing_key.kid, kids, (kids, ring.signing_key.kid) != before)


def reload_keys(keyring: KeyRing, keys_file: Path | None, trigger: str) -> KeysReloaded:
    """Reload ``keyring`` from the manifest now, on the event loop's thread (the swap must not
    interleave with a request)."""
    return _adopt(keyring, _load(keys_file), trigger)


class KeyReloader:
    """Watches the manifest's directory (a Secret volume swaps a symlink, not the file)."""

    def __init__(self, keyring: KeyRing, keys_file: Path | None) -> None:
        self._keyring = keyring
        self._keys_file = keys_file
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def reload(self, trigger: str) -> None:
        with contextlib.suppress(KeysRejected, KeysNotReloadable):  # logged; the live ring stays
            ring = await asyncio.to_thread(_load, self._keys_file)  # file reads off the loop
            _adopt(self._keyring, ring, trigger)  # the swap on the loop

    def start(self, *, watch: bool) -> None:
        if watch and self._keys_file is not None:
            watched = self._keys_file.parent
            self._task = asyncio.get_running_loop().create_task(self._watch(watched))

    async def _watch(self, folder: Path) -> None:
        from watchfiles import awatch

        async for _ in awatch(folder, stop_event=self._stop, debounce=200, recursive=False):
            await self.reload("file_change")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
