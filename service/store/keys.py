"""Every key name the store writes, in one place (``key_classes.py`` says what each class of key is for).

Names hold only pseudonyms (sids, random check ids, client ids, hashes), never a
subject_ref. The part in braces is a Redis Cluster hash tag: keys that one operation
touches together (a check and its attempt counter; a subject's record and tombstone)
share a tag and therefore a slot.
"""

from __future__ import annotations

import hashlib
import re

DEFAULT_PREFIX = "ageband"

# Braces would move the hash tag and whitespace breaks SCAN patterns and logs; anything
# else is allowed so that client ids from configuration are not second-guessed here.
_PART_RE = re.compile(r"^[^{}\s]{1,256}$")


def _part(kind: str, value: str) -> str:
    if not _PART_RE.fullmatch(value):
        raise ValueError(f"{kind} cannot be used in a key name")
    return value


class Keys:
    """Key names under one prefix (the prefix lets several deployments share a Redis)."""

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = _part("prefix", prefix)

    def _subject(self, sid: str) -> str:
        """The part every key of one subject starts with: its sid is the hash tag."""
        return f"{self.prefix}:sub:{{{_part('sid', sid)}}}"

    def check(self, check_id: str) -> str:
        return f"{self.prefix}:chk:{{{_part('check_id', check_id)}}}"

    def attempts(self, check_id: str) -> str:
        return f"{self.prefix}:chk:{{{_part('check_id', check_id)}}}:attempts"

    def record(self, sid: str) -> str:
        return f"{self._subject(sid)}:rec"

    def revoked(self, sid: str) -> str:
        return f"{self._subject(sid)}:rev"

    def due(self, client_id: str) -> str:
        return f"{self.prefix}:due:{{{_part('client_id', client_id)}}}"

    def sanction(self, sid: str) -> str:
        return f"{self._subject(sid)}:snc"

    def device_sanction(self, device: str) -> str:
        # ``device`` is the keyed hash of the device id the app relays, never the raw value.
        return f"{self.prefix}:dev:{{{_part('device', device)}}}:snc"

    def recheck_request(self, sid: str) -> str:
        return f"{self._subject(sid)}:rrq"

    def subject_state(self, sid: str) -> tuple[str, str, str, str]:
        """The keys refresh and introspection read together: record, re-check request, sanction
        and revocation marker (one tag, so one slot; the sid checked once for all four)."""
        tag = self._subject(sid)
        return f"{tag}:rec", f"{tag}:rrq", f"{tag}:snc", f"{tag}:rev"

    def appeal(self, sid: str) -> str:
        return f"{self._subject(sid)}:apl"

    def guardian_code(self, code_ref: str) -> str:
        # ``code_ref`` is a keyed hash of the one-time code, never the code.
        return f"{self.prefix}:gcd:{{{_part('code_ref', code_ref)}}}"

    def guardian_link(self, link: str) -> str:
        # ``link`` is a keyed hash of both sids: it names neither.
        return f"{self.prefix}:gln:{{{_part('link', link)}}}"

    def guardian_links(self, sid: str) -> str:
        return f"{self._subject(sid)}:gln"

    def connection(self, nonce_ref: str) -> str:
        # ``nonce_ref`` is a keyed hash of the pair nonce the app relays, never the nonce.
        return f"{self.prefix}:tcn:{{{_part('nonce_ref', nonce_ref)}}}"

    def connections(self, sid: str) -> str:
        return f"{self._subject(sid)}:tcn"

    def subject_checks(self, sid: str) -> str:
        # The subject's open checks: check keys are tagged by check id, so erasure by sid
        # needs this index to find them.
        return f"{self._subject(sid)}:chk"

    def content(self, content_id: str) -> str:
        # One key per item: its publishability is one read, whatever the number of people in it.
        return f"{self.prefix}:cnt:{{{_part('content_id', content_id)}}}"

    def subject_content(self, sid: str) -> str:
        # The items naming a sid: item keys are tagged by content id, so cascades need this.
        return f"{self._subject(sid)}:cnt"

    def content_list(self, client_id: str) -> str:
        return f"{self.prefix}:cnl:{{{_part('client_id', client_id)}}}"

    def counter(self, scope: str, subject: str) -> str:
        # ``subject`` is a sid or a keyed hash of a device or IP; never the raw value.
        return f"{self.prefix}:abz:{{{_part('subject', subject)}}}:{_part('scope', scope)}"

    def distinct(self, scope: str, subject: str) -> str:
        return f"{self.prefix}:abs:{{{_part('subject', subject)}}}:{_part('scope', scope)}"

    def timers(self, client_id: str) -> str:
        return f"{self.prefix}:tmr:{{{_part('client_id', client_id)}}}"

    # The event stream and its retry and dead-letter sets share one hash tag: the scripts
    # that move an event between them touch all three at once.
    def events(self) -> str:
        return f"{self.prefix}:evt:{{stream}}"

    def retries(self) -> str:
        return f"{self.prefix}:evt:{{stream}}:retry"

    def dead(self) -> str:
        return f"{self.prefix}:evt:{{stream}}:dead"

    def subject_key(self, ref: str) -> str:
        # ``ref`` is the subject's erasure reference (a keyed hash of the sid), never the sid.
        return f"{self.prefix}:audk:{{{_part('ref', ref)}}}"

    def once(self, key: str) -> str:
        # Callers pass tokens ids or nonces; hashing keeps their values out of key names.
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{self.prefix}:once:{{{digest}}}"

    def page_link(self, digest: str) -> str:
        # ``digest`` is the SHA-256 of the link's token: the token itself is never a key name.
        return f"{self.prefix}:pgl:{{{_part('sha256', digest)}}}"

    def page_session(self, digest: str) -> str:
        return f"{self.prefix}:pgs:{{{_part('sha256', digest)}}}"

    def page_index(self, check_id: str) -> str:
        # The page keys of one check: they are tagged by their token's digest, so erasure (which
        # knows the subject's checks) needs this index to find them.
        return f"{self.prefix}:pgi:{{{_part('check_id', check_id)}}}"

    def pattern(self) -> str:
        """A SCAN MATCH pattern for every key under this prefix."""
        return f"{self.prefix}:*"


def require_ttl(ttl: int) -> int:
    """Every key has a TTL: refuse a zero or negative one instead of storing forever."""
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        raise ValueError("ttl must be a positive number of seconds")
    return ttl
