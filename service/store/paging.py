"""Due-list paging shared by every backend, so they agree on order, liveness and cursors.

A backend supplies three primitives over its due index; this module decides which
entries are live, what to clean up and when there is nothing more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date

from service.store.codec import decode_cursor, encode_cursor
from service.store.record_codec import decode_record
from service.store.roles import DueEntry, DuePage

Position = tuple[date, str]  # (recheck_at, sid): the index order
# scan(after, before, count): up to ``count`` entries after ``after`` (exclusive),
# ascending, with recheck_at < before.
Scan = Callable[[Position | None, date, int], Awaitable[list[Position]]]
# load(sids): each sid's stored record, raw, or None where it is gone.
Load = Callable[[list[str]], Awaitable[Sequence[str | bytes | None]]]
# drop(sids): remove index entries whose record is gone.
Drop = Callable[[list[str]], Awaitable[None]]

# Scanning more than one page at a time saves round trips when stale entries are common.
_MIN_BATCH = 32


async def page_due(
    client_id: str,
    before: date,
    cursor: str | None,
    limit: int,
    *,
    scan: Scan,
    load: Load,
    drop: Drop,
) -> DuePage:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    after = decode_cursor(cursor) if cursor is not None else None
    batch = max(limit, _MIN_BATCH)
    entries: list[DueEntry] = []
    while True:
        positions = await scan(after, before, batch)
        if after is not None and positions and positions[0] <= after:
            # A scan that does not move forward would loop here for ever.
            raise RuntimeError("due index scan did not advance past the cursor")
        raws = await load([sid for _, sid in positions]) if positions else []
        gone: list[str] = []
        for i, ((recheck_at, sid), raw) in enumerate(zip(positions, raws, strict=True)):
            if raw is None:
                gone.append(sid)
                continue
            if decode_record(raw, sid).client_id != client_id:
                continue  # cannot happen with keyed sids; never show another client's subject
            # The index date, not the record's: put_record keeps the index at or before
            # the record's recheck_at, so a half-finished write errs toward sooner.
            entries.append(DueEntry(sid=sid, recheck_at=recheck_at))
            if len(entries) == limit:
                if gone:
                    await drop(gone)
                last = positions[i]
                more = i + 1 < len(positions) or bool(await scan(last, before, 1))
                return DuePage(entries, encode_cursor(*last) if more else None)
        if gone:
            await drop(gone)
        if len(positions) < batch:
            return DuePage(entries, None)
        after = positions[-1]
