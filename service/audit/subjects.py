"""Shreddable subject references: how a sid appears in logs, so that erasure reaches them too.

A sid is personal data (a pseudonym, GDPR Art. 4(5)), and the audit trail is append-only and
hash-chained: what it once said about a subject cannot be deleted from it. So no log line ever
holds a sid. One processor, ahead of the PII guard, replaces the ``sid`` of every event (audit
or not, present and future events alike) with ``sid_hash``: HMAC-SHA256 of the sid under a
random key of that subject alone. Erasure deletes the key: the trail keeps every event, the
chain still verifies and every check's lifecycle (by check id) still reads, but no one can tell
any more which subject those references stood for, not even with the pepper and the sid.

The keys are kept by the store (``SubjectKeyStore``), named by the subject's erasure reference
(:func:`sid_ref`: a keyed hash, never the sid) and holding 32 random bytes and nothing else;
each use extends the key to the audit retention, so a key outlives every event made with it.
Looking a key up is synchronous (a log processor cannot await): a small per-process cache keeps
the lookups off the hot paths, and a failed lookup drops the reference rather than the event
(or the request): a log line never blocks a request on the store, and never falls back to the sid.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

SID_HASH = "sid_hash"  # the field that stands for the sid in every log event
_CACHE_SECONDS = 60.0  # how long a replica may use a key another replica has since shredded
_CACHE_SIZE = 4096


def sid_ref(key: bytes, sid: str) -> str:
    """A subject's erasure reference: a keyed hash of the sid (the pepper is the key).

    Someone who holds the key and a sid (the operator, answering a data subject or a regulator)
    can find the erasure event and the subject's audit key; a reader of the log alone cannot
    tell which sid it was, nor link it to the sid's earlier events.
    """
    mac = hmac.new(key, b"ageband:audit:erasure\x00" + sid.encode(), hashlib.sha256)
    return "sref_" + mac.hexdigest()[:32]


class SubjectKeyStore(Protocol):
    """Where the per-subject audit keys live (``service.store``: memory or Redis)."""

    def subject_key(self, ref: str, fresh: bytes, ttl: int) -> bytes:
        """The key stored under ``ref``, or ``fresh`` stored there now if there was none; either
        way it then lives ``ttl`` seconds more. Atomic: two replicas never use different keys."""

    def shred_subject_key(self, ref: str) -> bool:
        """Delete the key under ``ref``; True if there was one."""


class SubjectRefs:
    """Turns sids into ``sid_hash`` references, and shreds a subject's key on erasure."""

    def __init__(
        self,
        pepper: bytes,
        keys: SubjectKeyStore,
        ttl: int,
        *,
        cache_seconds: float = _CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pepper = pepper
        self._keys = keys
        self._ttl = ttl
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        # sid -> (valid until, the sid's reference): the reference itself, not only the key, so
        # a hot subject costs no HMAC per log line. Shredding drops it with the key.
        self._cache: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()  # log lines may come from other threads (reload watchers)

    def erasure_ref(self, sid: str) -> str:
        return sid_ref(self._pepper, sid)

    def ref(self, sid: str) -> str:
        """The sid's reference in the log. Raises when the key store cannot be reached."""
        now = self._monotonic()
        # A hit needs no lock: one dict read, atomic, of a tuple replaced whole. The cache is kept
        # in order of fetching (a hot subject is fetched again once a minute), not of use: a hit
        # writes nothing, so log lines from several threads never wait on each other here.
        hit = self._cache.get(sid)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self._lock:
            key = self._keys.subject_key(self.erasure_ref(sid), secrets.token_bytes(32), self._ttl)
            ref = subject_hash(key, sid)
            self._cache.pop(sid, None)
            self._cache[sid] = (now + self._cache_seconds, ref)
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
            return ref

    def shred(self, sid: str) -> bool:
        """Forget the subject's key here and in the store: its references can no longer be tied
        to it. A later event about the same sid starts a new, unrelated reference."""
        with self._lock:
            self._cache.pop(sid, None)
            return self._keys.shred_subject_key(self.erasure_ref(sid))


def subject_hash(key: bytes, sid: str) -> str:
    mac = hmac.new(key, b"ageband:audit:subject\x00" + sid.encode(), hashlib.sha256)
    return "sh_" + mac.hexdigest()[:32]


class SubjectPseudonyms:
    """The log processor: every event's ``sid`` becomes ``sid_hash`` before the PII guard sees it.

    Until the composition root hands it the subject keys (``use``), and whenever they cannot be
    reached, the sid is dropped with no reference in its place: never written in clear.
    """

    def __init__(self) -> None:
        self.refs: SubjectRefs | None = None

    def use(self, refs: SubjectRefs | None) -> None:
        self.refs = refs

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if "sid" not in event:
            return event
        sid = event.pop("sid")
        refs, ref = self.refs, None
        if isinstance(sid, str) and sid and refs is not None:
            try:
                ref = refs.ref(sid)
            except Exception:  # noqa: BLE001 - a store outage costs the reference, never the event
                ref = None
        event[SID_HASH] = ref
        return event
