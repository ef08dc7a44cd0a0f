"""What the store keeps. Every field here is listed, with its purpose, in the data inventory.

Nothing here identifies a person directly: subjects appear only as their pairwise sid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


def about(purpose: str, *, personal: bool = True) -> dict[str, object]:
    """Field metadata for the data inventory (service/privacy/inventory.py): why the field is
    kept, and whether it is personal data (anything about a subject, pseudonymous or not)."""
    return {"purpose": purpose, "personal": personal}


class CheckStatus(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SignalNote:
    """One signal of a check, reduced to its levels and interval (no evidence, no qualifier)."""

    level: str = field(metadata=about("the assurance level this signal reached"))
    lo: int = field(metadata=about("lower end of the signal's age interval, in whole years"))
    hi: int | None = field(metadata=about("upper end of the signal's age interval (null: unbounded)"))
    method_class: str = field(
        default="",
        metadata=about("the method class (self-declaration never moves a band older)", personal=False),
    )
    upper_level: str | None = field(
        default=None, metadata=about("the level at which it bounds the age from above (null: it does not)")
    )
    at_most: int | None = field(
        default=None, metadata=about("the oldest age it allows, for a band's upper edge (null: unbounded)")
    )


@dataclass(slots=True)
class CheckState:
    """One age-assurance session (TTL ≤ 15 min)."""

    check_id: str = field(metadata=about("names the session (random; also its key name)"))
    client_id: str = field(metadata=about("the app running the check: only it may read or advance it"))
    sid: str = field(
        metadata=about("the subject's pairwise pseudonym, to write the record when the check passes")
    )
    jurisdiction: str = field(metadata=about("selects the policy rules that apply"))
    purpose: str = field(metadata=about("why the app asks (e.g. signup, recheck)"))
    policy_version: str = field(metadata=about("the policy the check runs under", personal=False))
    created_at: int = field(metadata=about("when the check started (epoch seconds)"))
    expires_at: int = field(metadata=about("when the check stops accepting evidence (epoch seconds)"))
    status: CheckStatus = field(default=CheckStatus.PENDING, metadata=about("pending, passed or failed"))
    methods_tried: list[str] = field(
        default_factory=list, metadata=about("method names tried: per-method attempt limits and step-up")
    )
    # Intersection of the signals so far (successive validation); None before the first.
    interval_lo: int | None = field(
        default=None, metadata=about("lower end of the combined age interval so far (successive validation)")
    )
    interval_hi: int | None = field(
        default=None, metadata=about("upper end of the combined age interval so far")
    )
    signals: list[SignalNote] = field(
        default_factory=list,
        metadata=about("each signal's level and interval: the band's level depends on which proves it"),
    )
    attempts: int = field(
        default=0, metadata=about("attempts claimed, including evidence that did not parse (attempt limit)")
    )
    reason: str | None = field(default=None, metadata=about("stable reason code once failed"))
    device: str | None = field(
        default=None,
        metadata=about("keyed hash of the device the app relayed: its sanctions bind the device too"),
    )
    version: int = field(
        default=0, metadata=about("optimistic concurrency: bumped by every successful update", personal=False)
    )
    appeal_floor: str | None = field(
        default=None,
        metadata=about("an appeal: the level that set the contested band; only stronger methods count"),
    )
    # An anonymous check keeps no record: what it passed with stays here, for the check's TTL
    # only, so that the app can take the token once after the hosted page.
    band: str | None = field(
        default=None, metadata=about("an anonymous check that passed: the band its one-time token asserts")
    )
    level: str | None = field(
        default=None, metadata=about("an anonymous check: that band's lower edge's level")
    )
    upper_level: str | None = field(
        default=None,
        metadata=about("an anonymous check: that band's upper edge's level (null: not established)"),
    )
    token_taken: bool = field(
        default=False, metadata=about("an anonymous check: its one-time token was handed out", personal=False)
    )


@dataclass(slots=True)
class AssuranceRecord:
    """Per-sid assurance state (TTL = retention)."""

    sid: str = field(
        metadata=about("the subject's pairwise pseudonym: the key the app refreshes and revokes by")
    )
    client_id: str = field(metadata=about("the app the subject belongs to: no other app may read the record"))
    band: str = field(metadata=about("the age band: what tokens assert"))
    level: str = field(metadata=about("how well the band's lower edge is established: what tokens assert"))
    method: str = field(metadata=about("the method class used (never the provider's evidence)"))
    jurisdiction: str = field(metadata=about("the rules that set the re-check interval"))
    assured_at: date = field(metadata=about("the day of the check (day only)"))
    recheck_at: date = field(metadata=about("the day the next check is due (truncated: errs toward sooner)"))
    age_up_at: date | None = field(
        metadata=about("first of the month after the next band change; minors with an exact interval only")
    )
    policy_version: str = field(metadata=about("the policy the record was made under", personal=False))
    generation: int = field(default=0, metadata=about("bumped to void earlier tokens", personal=False))
    passed_generation: int = field(
        default=0,
        metadata=about(
            "the generation at the last passing check: refresh and introspection need it current",
            personal=False,
        ),
    )
    revoked_for: str | None = field(
        default=None,
        metadata=about("the abuse signal whose sanction voided the tokens (a code): the user's explanation"),
    )
    upper_level: str | None = field(
        default=None,
        metadata=about(
            "how well the band's upper edge is established (null: not at all, e.g. self-declared): "
            "what entry to children's spaces needs; tokens assert it"
        ),
    )
    lower_age: int | None = field(
        default=None,
        metadata=about(
            "adults only: the lower edge in whole years on assured_at, from the signals at the "
            "record's level, capped at 40; aged back to a recording month for adult content"
        ),
    )


@dataclass(slots=True)
class Sanction:
    """What the policy imposed on a sid after an abuse signal (TTL = until the sanction ends).

    Tokens carry no generation claim, so revoking them is the revocation marker (``revoked_at``)
    plus a bump of the record's ``generation`` past ``passed_generation``, which outlasts this
    sanction; this keeps the reason and what still applies.
    """

    sid: str = field(metadata=about("the sanctioned subject's pairwise pseudonym"))
    client_id: str = field(metadata=about("the app the subject belongs to"))
    signal: str = field(metadata=about("the abuse signal that triggered it (a code, e.g. liveness_failed)"))
    imposed_at: int = field(metadata=about("when it was imposed (epoch seconds)"))
    locked_until: int | None = field(metadata=about("no checks or refreshes before then (epoch seconds)"))
    min_level: str | None = field(metadata=about("the level the next check must reach"))
    until: int = field(metadata=about("when the whole sanction lapses (epoch seconds)"))


@dataclass(slots=True)
class PageLink:
    """A hosted check page link, before its first opening (TTL: at most the check's). Stored under
    the SHA-256 of the link's token, never the token: the URL alone opens it."""

    check_id: str = field(metadata=about("the check the page runs (random; the page never shows the sid)"))
    client_id: str = field(metadata=about("the app that made the link: whose check it is", personal=False))
    return_url: str = field(
        metadata=about("where the page sends the user at the end (on the app's allow-list)", personal=False)
    )
    state: str = field(metadata=about("the app's opaque value, handed back on return_url"))
    expires_at: int = field(metadata=about("when the link and its page stop working (epoch seconds)"))


@dataclass(slots=True)
class PageSession:
    """The page a link opened, in one browser (TTL: the link's). Stored under the SHA-256 of the
    session token in the page's address; its forms also need the CSRF cookie, kept as a hash."""

    link: PageLink = field(metadata=about("what the link said"))
    csrf: str = field(
        metadata=about("SHA-256 of the page's CSRF cookie: forms need the cookie", personal=False)
    )
    outcome: str | None = field(
        default=None, metadata=about("the last submission's outcome (passed, inconclusive, failed)")
    )
    reason: str | None = field(default=None, metadata=about("its reason code, when not passed"))
    band: str | None = field(default=None, metadata=about("the band a passing check gave, to explain it"))
    level: str | None = field(default=None, metadata=about("its lower edge's level: what the band allows"))
    upper_level: str | None = field(
        default=None, metadata=about("its upper edge's level (null: not established): what the band allows")
    )
    sanction: str | None = field(
        default=None, metadata=about("the abuse signal whose sanction it brought on (a code), to explain it")
    )
