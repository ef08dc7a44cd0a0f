"""Page cursors naming a (day, id) position, shared by the due list and content lists.

A cursor is ``<day number>.<id>``: the proleptic Gregorian ordinal of the day (``date.toordinal``)
and the id of the last entry of a page. Every string of that form names a position, so the API
document states it as a pattern (``cursor_pattern``) and the service continues after any such
position; anything else is ``invalid_cursor``. Apps pass back the ``next_cursor`` they were given
and should treat it as opaque: its form may change between versions.
"""

from __future__ import annotations

import re
from datetime import date

from service.store.errors import InvalidCursor

# Up to six digits: every such day exists (999999 is in the year 2738), with no leading zero.
_DAY = r"[1-9][0-9]{0,5}"


def cursor_pattern(id_prefix: str) -> str:
    """The cursor's form for ids ``<id_prefix>_`` + 43 base64url characters."""
    return rf"^({_DAY})\.({id_prefix}_[A-Za-z0-9_-]{{43}})$"


def encode_position(day: date, ident: str) -> str:
    """It names the last entry of a page, which the next one follows."""
    return f"{day.toordinal()}.{ident}"


def decode_position(cursor: str, pattern: re.Pattern[str], message: str) -> tuple[date, str]:
    """The (day, id) a page continues after, where ``pattern`` is a ``cursor_pattern``; else
    InvalidCursor with ``message``."""
    m = pattern.fullmatch(cursor)
    if m is None:
        raise InvalidCursor(message)
    return date.fromordinal(int(m.group(1))), m.group(2)
