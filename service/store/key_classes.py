"""What each key class is for: one row of the data inventory per kind of key the store writes
(what it holds, why, where its TTL comes from, what losing it means), and which class a raw
key name belongs to."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeyClass:
    """One row of the data inventory: what a key class holds and what losing it means."""

    name: str
    pattern: str  # ``<prefix>`` and ``<placeholder>`` parts stand for one key-name part
    holds: str
    purpose: str
    ttl_source: str
    survives_restart: bool  # must it survive a Redis restart (persistence required)?
    on_loss: str

    def regex(self, prefix: str) -> re.Pattern[str]:
        parts = re.split(r"(<[a-z0-9_]+>)", self.pattern)
        body = "".join(
            re.escape(prefix) if p == "<prefix>" else r"[^{}\s]+" if p.startswith("<") else re.escape(p)
            for p in parts
        )
        return re.compile(f"^{body}$")


KEY_CLASSES: tuple[KeyClass, ...] = (
    KeyClass(
        name="check",
        pattern="<prefix>:chk:{<check_id>}",
        holds="CheckState as JSON: ids, jurisdiction, status, age interval, signal levels, version",
        purpose="one age-assurance session while the user completes it",
        ttl_source="check lifetime (at most 15 minutes)",
        survives_restart=False,
        on_loss="the user starts the check again",
    ),
    KeyClass(
        name="check_attempts",
        pattern="<prefix>:chk:{<check_id>}:attempts",
        holds="an integer counter",
        purpose="caps the attempts within one check",
        ttl_source="check lifetime, set when the counter is created",
        survives_restart=False,
        on_loss="lost together with its check, which must then be started again",
    ),
    KeyClass(
        name="subject_checks",
        pattern="<prefix>:sub:{<sid>}:chk",
        holds="a set of the check ids started for a sid",
        purpose="erasure by sid finds and removes the subject's open and just-finished checks",
        ttl_source="check lifetime (at most 15 minutes), extended by every check it indexes",
        survives_restart=False,
        on_loss="lost together with the checks it names",
    ),
    KeyClass(
        name="record",
        pattern="<prefix>:sub:{<sid>}:rec",
        holds=(
            "AssuranceRecord, packed (service/store/record_codec.py) or as JSON: band, level, method "
            "class, coarse dates, policy version"
        ),
        purpose="the subject's assurance state between checks",
        ttl_source="retention period from the policy",
        survives_restart=True,
        on_loss="the subject must be checked again (safe, but costly for users)",
    ),
    KeyClass(
        name="revocation",
        pattern="<prefix>:sub:{<sid>}:rev",
        holds="epoch seconds: tokens issued at or before it are void",
        purpose="revoke tokens before they expire",
        ttl_source="longest token lifetime plus verifier cache time",
        survives_restart=True,
        on_loss=(
            "tokens revoked before a new passing check would be accepted again until they expire "
            "(a sanction's revocation stays in force through the record's generation)"
        ),
    ),
    KeyClass(
        name="due_index",
        pattern="<prefix>:due:{<client_id>}",
        holds="sorted set of '<recheck_at>|<sid>' members, all with score 0",
        purpose="page through a client's subjects that need a re-check",
        ttl_source="extended to the longest record TTL written into it",
        survives_restart=True,
        on_loss="due lists come back empty, so re-checks are missed until records are re-put",
    ),
    KeyClass(
        name="single_use",
        pattern="<prefix>:once:{<sha256>}",
        holds="a marker; the name is the SHA-256 of the caller's key",
        purpose="replay protection for token ids, nonces and callback states",
        ttl_source="lifetime of the thing that must not be replayed",
        survives_restart=True,
        on_loss="a replay within the original lifetime would be accepted",
    ),
    KeyClass(
        name="abuse_counter",
        pattern="<prefix>:abz:{<subject>}:<scope>",
        holds="an integer counter; the subject is a sid or a keyed hash of a device or IP",
        purpose="attempt and failure limits per sid, device and IP within a policy window; a sid's "
        "refused attempts towards minors (scope minor_contact, the deterrence flag)",
        ttl_source="the policy window, set when the counter is created (fixed window)",
        survives_restart=False,
        on_loss="limits start counting again: a burst is allowed once more",
    ),
    KeyClass(
        name="abuse_set",
        pattern="<prefix>:abs:{<subject>}:<scope>",
        holds="a set of method names tried by a sid after a failure",
        purpose="detects method shopping within a policy window",
        ttl_source="the policy window, set when the set is created",
        survives_restart=False,
        on_loss="method shopping is detected later than it could have been",
    ),
    KeyClass(
        name="sanction",
        pattern="<prefix>:sub:{<sid>}:snc",
        holds="Sanction as JSON: signal code, lock end, minimum level, dates",
        purpose="enforce a lock or a stronger method after circumvention",
        ttl_source="until the sanction lapses (the longer of lock and remember period)",
        survives_restart=True,
        on_loss="a locked subject could check again early (tokens stay revoked)",
    ),
    KeyClass(
        name="device_sanction",
        pattern="<prefix>:dev:{<device>}:snc",
        holds="Sanction as JSON, for a device's keyed hash (no sid): signal, lock end, minimum level",
        purpose="a new account on a sanctioned device inherits the lock and the stronger method",
        ttl_source="until the sanction lapses (the longer of lock and remember period)",
        survives_restart=True,
        on_loss="a new account on a sanctioned device could check again early",
    ),
    KeyClass(
        name="recheck_request",
        pattern="<prefix>:sub:{<sid>}:rrq",
        holds="RecheckRequest as JSON: reason code, minimum level, requested and deadline times",
        purpose="a re-check an app demanded: refresh reports it, decisions apply pending_recheck",
        ttl_source="until the deadline, plus the policy's overdue period (the missed sanction)",
        survives_restart=True,
        on_loss="the subject's pending re-check is forgotten: the app must ask again",
    ),
    KeyClass(
        name="appeal",
        pattern="<prefix>:sub:{<sid>}:apl",
        holds="Appeal as JSON: the contested band and level, the appeal's check id, its deadline",
        purpose="an appeal the user opened: which methods may decide it, and when it must be answered",
        ttl_source="until the appeal's deadline (the policy's appeal.deadline)",
        survives_restart=True,
        on_loss="the appeal is forgotten: the user opens it again (the band on record holds meanwhile)",
    ),
    KeyClass(
        name="guardian_code",
        pattern="<prefix>:gcd:{<code_ref>}",
        holds="GuardianCode as JSON: the child's sid and band, when it was made (named by its keyed hash)",
        purpose="a one-time code a guardian confirms the child's band with",
        ttl_source="the policy's guardian.code_ttl (30 minutes in the bundled packs); deleted when used",
        survives_restart=False,
        on_loss="the child asks for a new code",
    ),
    KeyClass(
        name="guardian_link",
        pattern="<prefix>:gln:{<link>}",
        holds="GuardianLink as JSON (a keyed hash of the child's sid, the band and level confirmed), named "
        "by a keyed hash of the child's and the guardian's sids (neither is stored)",
        purpose="that a guardian confirmed a child's band, kept by the child's later checks of that "
        "band; counts a guardian's children (max_children)",
        ttl_source="retention period from the policy",
        survives_restart=True,
        on_loss="a guardian's count of confirmed children starts again; the records keep their confirmation "
        "until the child's next check",
    ),
    KeyClass(
        name="guardian_links",
        pattern="<prefix>:sub:{<sid>}:gln",
        holds="a set of the guardian links a sid is part of (keyed hashes)",
        purpose="erasure of either side finds and removes its links",
        ttl_source="retention period from the policy, extended by every link added",
        survives_restart=True,
        on_loss="erasure can no longer find the sid's links, which then expire with their TTL",
    ),
    KeyClass(
        name="connection",
        pattern="<prefix>:tcn:{<nonce_ref>}",
        holds="Connection as JSON: keyed hashes of the opener and of the pair, the times",
        purpose="a trusted connection both users confirmed: decisions honour relationship trusted with it",
        ttl_source="the policy's trusted.confirm_within until confirmed, then trusted.ttl",
        survives_restart=True,
        on_loss="the users confirm their connection again; until then relaxable rules apply",
    ),
    KeyClass(
        name="connections",
        pattern="<prefix>:sub:{<sid>}:tcn",
        holds="a set of the connection keys (keyed nonce hashes) a sid opened or confirmed",
        purpose="erasure of either side finds and removes its connections",
        ttl_source="the longest connection TTL written into it",
        survives_restart=True,
        on_loss="erasure can no longer find the sid's connections, which then expire with their TTL",
    ),
    KeyClass(
        name="timers",
        pattern="<prefix>:tmr:{<client_id>}",
        holds="sorted set of sids scored by the day of their next lifecycle step",
        purpose="the worker's due index for age-up and re-check notices",
        ttl_source="extended to the longest record TTL written into it",
        survives_restart=True,
        on_loss="age-ups wait for the next refresh; re-check notices are not sent",
    ),
    KeyClass(
        name="audit_subject_key",
        pattern="<prefix>:audk:{<erasure_ref>}",
        holds="32 random bytes in hex: the key of a subject's references (sid_hash) in the audit trail",
        purpose="lets the trail name a subject until erasure deletes the key (crypto-shredding)",
        ttl_source="the audit retention (AGEBAND_AUDIT__RETENTION_DAYS), extended on every use",
        survives_restart=True,
        on_loss=(
            "the subject's earlier audit events can no longer be tied to it (as after erasure); "
            "later events get a new reference"
        ),
    ),
    KeyClass(
        name="content_item",
        pattern="<prefix>:cnt:{<content_id>}",
        holds="ContentItem as JSON: keyed hashes of the content, the recording month, the people's "
        "sids with their consents (keyed hashes) and a copy of their assurance (band, level, days)",
        purpose="answer whether an item of adult content may be published, in one read",
        ttl_source="content retention from the policy (depicted.retention)",
        survives_restart=True,
        on_loss="the item reads as unknown: the app registers it again and everyone consents again",
    ),
    KeyClass(
        name="subject_content",
        pattern="<prefix>:sub:{<sid>}:cnt",
        holds="a set of the content ids naming a sid",
        purpose="a revocation, erasure, sanction or failed check of the person reaches every item",
        ttl_source="content retention, extended by every item it indexes",
        survives_restart=True,
        on_loss="a later revocation no longer reaches the person's items (they stay as they were)",
    ),
    KeyClass(
        name="content_list",
        pattern="<prefix>:cnl:{<client_id>}",
        holds="sorted set of content ids scored by the day each stopped (or stops) being publishable",
        purpose="the app pages through its unpublishable items",
        ttl_source="extended to the longest item TTL written into it",
        survives_restart=True,
        on_loss="the list comes back empty until items change; each item still answers for itself",
    ),
    KeyClass(
        name="event_stream",
        pattern="<prefix>:evt:{stream}",
        holds="stream of webhook events (event id, client id, type, JSON of pseudonyms and codes)",
        purpose="webhook delivery through a consumer group (at least once, idempotent ids)",
        ttl_source="event retention (7 days), extended on every publish",
        survives_restart=True,
        on_loss="undelivered webhooks are lost; apps can still poll due lists",
    ),
    KeyClass(
        name="event_retries",
        pattern="<prefix>:evt:{stream}:retry",
        holds="sorted set of events scored by when to try them again",
        purpose="exponential backoff between delivery attempts",
        ttl_source="event retention (7 days), extended on every retry",
        survives_restart=True,
        on_loss="events waiting for a retry are lost",
    ),
    KeyClass(
        name="event_dead_letters",
        pattern="<prefix>:evt:{stream}:dead",
        holds="list of events that failed every attempt",
        purpose="operators inspect and replay what could not be delivered",
        ttl_source="event retention (7 days), extended on every dead letter",
        survives_restart=True,
        on_loss="the record of failed deliveries is lost",
    ),
    KeyClass(
        name="page_link",
        pattern="<prefix>:pgl:{<sha256>}",
        holds="PageLink as JSON: check id, client id, return URL, the app's state, expiry",
        purpose="a hosted check page link that has not been opened yet (single use)",
        ttl_source="the link's lifetime: at most the check's (15 minutes)",
        survives_restart=False,
        on_loss="the app makes a new link",
    ),
    KeyClass(
        name="page_session",
        pattern="<prefix>:pgs:{<sha256>}",
        holds="PageSession as JSON: the link, the CSRF cookie's hash, the last outcome and its codes",
        purpose="the hosted check page one browser opened, between its forms",
        ttl_source="the link's lifetime: at most the check's (15 minutes); dropped on return to the app",
        survives_restart=False,
        on_loss="the user starts again from the app",
    ),
    KeyClass(
        name="page_index",
        pattern="<prefix>:pgi:{<check_id>}",
        holds="a set of the SHA-256 digests of one check's page link and page session tokens",
        purpose="erasure by sid finds and removes the page links and sessions of the subject's checks",
        ttl_source="the link's lifetime: at most the check's (15 minutes), extended by every key it indexes",
        survives_restart=False,
        on_loss="lost together with the page keys it names",
    ),
)


def key_class_of(key: str, prefix: str) -> KeyClass | None:
    """The documented class a raw key name belongs to, or None if it is not one of ours."""
    for kc in KEY_CLASSES:
        if kc.regex(prefix).fullmatch(key):
            return kc
    return None
