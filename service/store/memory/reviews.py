"""Re-check requests and appeals, in memory."""

from __future__ import annotations

from collections.abc import Sequence

from service.store.codec import decode, encode
from service.store.memory.space import KeySpace
from service.store.reviews import Appeal, RecheckRequest


class MemoryRechecks:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    async def put_recheck(self, request: RecheckRequest, ttl: int) -> None:
        self._s.put(self._keys.recheck_request(request.sid), encode(request), ttl)

    async def get_recheck(self, sid: str) -> RecheckRequest | None:
        raw = self._s.text(self._keys.recheck_request(sid))
        return decode(RecheckRequest, raw) if raw is not None else None

    async def rechecks_of(self, sids: Sequence[str]) -> list[RecheckRequest | None]:
        return [await self.get_recheck(sid) for sid in sids]

    async def clear_recheck(self, sid: str) -> None:
        self._s.drop(self._keys.recheck_request(sid))


class MemoryAppeals:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    async def put_appeal(self, appeal: Appeal, ttl: int) -> None:
        self._s.put(self._keys.appeal(appeal.sid), encode(appeal), ttl)

    async def get_appeal(self, sid: str) -> Appeal | None:
        raw = self._s.text(self._keys.appeal(sid))
        return decode(Appeal, raw) if raw is not None else None

    async def clear_appeal(self, sid: str) -> None:
        self._s.drop(self._keys.appeal(sid))
