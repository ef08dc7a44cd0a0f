"""What the store keeps of an item of adult content. Every field is listed in the data inventory.

An item names its people only by their pairwise sids (one of them ``""`` once that person is
erased), the app's content reference and the media's hash only as keyed hashes, and each consent
as a keyed hash of what was consented to: nothing that identifies a performer. Everything
publishability needs sits in one key, so answering it is one store round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from service.store.cursors import cursor_pattern, decode_position, encode_position
from service.store.records import about


@dataclass(slots=True)
class Performer:
    """One person an item needs: a depicted person (who consents) or the uploader."""

    sid: str = field(
        metadata=about("the person's pairwise pseudonym (empty once erased): cascades find the item by it")
    )
    role: str = field(metadata=about("depicted or uploader", personal=False))
    consent: str | None = field(
        default=None,
        metadata=about(
            "keyed hash of (item, sid, content hash): the consent, bound to the media; no identity"
        ),
    )
    consented_at: int | None = field(
        default=None, metadata=about("when the consent was given (epoch seconds)")
    )
    # The person's assurance, copied from their record at consent and on every later pass, so
    # that publishability reads one key (a record's change reaches the copy through cascades).
    band: str | None = field(default=None, metadata=about("the person's age band on record"))
    level: str | None = field(default=None, metadata=about("how well the band's lower edge is established"))
    method: str | None = field(default=None, metadata=about("the method class that established it"))
    assured_at: date | None = field(default=None, metadata=about("the day of that check (day only)"))
    recheck_at: date | None = field(default=None, metadata=about("the day the person's next check is due"))
    lower_age: int | None = field(
        default=None,
        metadata=about(
            "the established lower edge in whole years on assured_at (capped): aged back "
            "to the recording month"
        ),
    )
    flag: str | None = field(
        default=None,
        metadata=about(
            "why the person no longer counts until they consent again (a code: revoked, "
            "erased, sanctioned, recheck_failed, consent_withdrawn, removal_requested)"
        ),
    )


@dataclass(slots=True)
class ContentItem:
    """An app's item of adult content (TTL: the policy's content retention)."""

    content_id: str = field(
        metadata=about("keyed hash of the app's own content reference, per client (its key name)")
    )
    client_id: str = field(metadata=about("the app the item belongs to: no other app may read it"))
    jurisdiction: str = field(metadata=about("selects the policy rules that apply"))
    content_hash: str = field(
        metadata=about("keyed hash of the media's hash: each consent is bound to it", personal=False)
    )
    recorded: str = field(metadata=about("the recording month (YYYY-MM): the age everyone needed then"))
    created_at: int = field(metadata=about("when the item was registered (epoch seconds)"))
    people: list[Performer] = field(
        default_factory=list, metadata=about("the depicted persons, in the app's order, then the uploader")
    )
    listed: date | None = field(
        default=None,
        metadata=about(
            "its day in the client's list of unpublishable items: when it stopped (or "
            "stops) being publishable"
        ),
    )
    version: int = field(
        default=0, metadata=about("optimistic concurrency: bumped by every successful update", personal=False)
    )


@dataclass(frozen=True, slots=True)
class ListedItem:
    content_id: str
    since: date


@dataclass(frozen=True, slots=True)
class ListedPage:
    items: list[ListedItem]
    cursor: str | None  # opaque; None when there is nothing more


LISTED_CURSOR = cursor_pattern("cnt")
_CURSOR_RE = re.compile(LISTED_CURSOR)


def encode_listed_cursor(day: date, content_id: str) -> str:
    return encode_position(day, content_id)


def decode_listed_cursor(cursor: str) -> tuple[date, str]:
    """The (day, content id) a page continues after; InvalidCursor for anything else."""
    return decode_position(cursor, _CURSOR_RE, "the cursor is not valid")
