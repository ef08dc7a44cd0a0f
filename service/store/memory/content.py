"""Items of adult content, each sid's index of them, and each client's unpublishable list, in memory."""

from __future__ import annotations

import dataclasses
from datetime import date

from service.store.codec import decode, encode
from service.store.content import (
    ContentItem,
    ListedItem,
    ListedPage,
    decode_listed_cursor,
    encode_listed_cursor,
)
from service.store.keys import require_ttl
from service.store.memory.records import DueIndex
from service.store.memory.space import KeySpace


class MemoryContent:
    def __init__(self, space: KeySpace) -> None:
        self._s = space
        self._keys = space.keys

    async def create_item(self, item: ContentItem, ttl: int) -> bool:
        key = self._keys.content(item.content_id)
        require_ttl(ttl)
        if self._s.get(key) is not None:
            return False
        self._s.put(key, encode(item), ttl)
        for sid in {p.sid for p in item.people if p.sid}:
            index = self._keys.subject_content(sid)
            entry = self._s.get(index)
            if entry is None or not isinstance(entry.value, set):
                self._s.put(index, {item.content_id}, ttl)
            else:
                entry.value.add(item.content_id)
                self._s.extend(index, ttl)
        return True

    async def get_item(self, content_id: str) -> ContentItem | None:
        raw = self._s.text(self._keys.content(content_id))
        return decode(ContentItem, raw) if raw is not None else None

    async def update_item(self, item: ContentItem) -> bool:
        entry = self._s.get(self._keys.content(item.content_id))
        if entry is None or not isinstance(entry.value, str):
            return False
        if decode(ContentItem, entry.value).version != item.version:
            return False
        entry.value = encode(dataclasses.replace(item, version=item.version + 1))
        item.version += 1  # expires_at untouched: the item keeps its remaining TTL
        return True

    async def items_naming(self, sid: str) -> list[str]:
        ids: set[str] | None = self._s.value(self._keys.subject_content(sid), set)
        return sorted(ids) if ids is not None else []

    async def forget_subject(self, sid: str) -> None:
        self._s.drop(self._keys.subject_content(sid))

    async def list_item(self, client_id: str, content_id: str, day: date | None, ttl: int) -> None:
        key = self._keys.content_list(client_id)
        require_ttl(ttl)
        index = self._s.value(key, DueIndex)
        if day is None:
            if index is not None:
                index.remove(content_id)
            return
        if index is None:
            index = DueIndex()
            self._s.put(key, index, ttl)
        self._s.extend(key, ttl)
        index.add(content_id, day)

    async def unpublishable(self, client_id: str, before: date, cursor: str | None, limit: int) -> ListedPage:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        after = decode_listed_cursor(cursor) if cursor is not None else None
        index = self._s.value(self._keys.content_list(client_id), DueIndex)
        positions = index.after(after, before, limit + 1) if index is not None else []
        page = positions[:limit]
        more = len(positions) > limit
        return ListedPage(
            [ListedItem(cid, day) for day, cid in page],
            encode_listed_cursor(*page[-1]) if more else None,
        )
