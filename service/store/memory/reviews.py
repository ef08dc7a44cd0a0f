"""Re-check requests and appeals, in memory."""

from __future__ import annotations

from collections.abc import Sequence

from service.store.codec import decode, encode
from service.store.keys import require_ttl
from service.store.memory.space import KeySpace
from service.store.reviews import Appeal, Connection, GuardianCode, GuardianLink, RecheckRequest


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


class MemoryGuardians:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    async def put_code(self, code_ref: str, code: GuardianCode, ttl: int) -> None:
        self._s.put(self._keys.guardian_code(code_ref), encode(code), ttl)

    async def take_code(self, code_ref: str) -> GuardianCode | None:
        key = self._keys.guardian_code(code_ref)
        raw = self._s.text(key)
        self._s.drop(key)
        return decode(GuardianCode, raw) if raw is not None else None

    async def add_link(
        self, link: str, child_sid: str, guardian_sid: str, value: GuardianLink, ttl: int
    ) -> None:
        self._s.put(self._keys.guardian_link(link), encode(value), ttl)
        for sid in (child_sid, guardian_sid):
            key = self._keys.guardian_links(sid)
            links = self._s.value(key, set)
            if links is None:
                self._s.put(key, {link}, ttl)
            else:
                links.add(link)
                self._s.extend(key, require_ttl(ttl))

    async def live_links(self, sid: str) -> list[str]:
        links = self._s.value(self._keys.guardian_links(sid), set) or set()
        return sorted(str(link) for link in links if self._s.get(self._keys.guardian_link(str(link))))

    async def link_values(self, sid: str) -> list[GuardianLink]:
        raws = [self._s.text(self._keys.guardian_link(link)) for link in await self.live_links(sid)]
        return [decode(GuardianLink, raw) for raw in raws if raw is not None and raw.startswith("{")]

    async def erase_links(self, sid: str) -> int:
        key = self._keys.guardian_links(sid)
        links = self._s.value(key, set) or set()
        existed = 0
        for link in links:
            name = self._keys.guardian_link(str(link))
            if self._s.get(name) is not None:
                existed += 1
            self._s.drop(name)
        self._s.drop(key)
        return existed


class MemoryConnections:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    async def put_connection(
        self, nonce_ref: str, connection: Connection, sids: Sequence[str], ttl: int
    ) -> None:
        self._s.put(self._keys.connection(nonce_ref), encode(connection), ttl)
        for sid in sids:
            key = self._keys.connections(sid)
            refs = self._s.value(key, set)
            if refs is None:
                self._s.put(key, {nonce_ref}, ttl)
            else:
                refs.add(nonce_ref)
                self._s.extend(key, require_ttl(ttl))

    async def get_connection(self, nonce_ref: str) -> Connection | None:
        raw = self._s.text(self._keys.connection(nonce_ref))
        return decode(Connection, raw) if raw is not None else None

    async def erase_connections(self, sid: str) -> int:
        key = self._keys.connections(sid)
        existed = 0
        for ref in self._s.value(key, set) or set():
            name = self._keys.connection(str(ref))
            existed += self._s.get(name) is not None
            self._s.drop(name)
        self._s.drop(key)
        return existed
