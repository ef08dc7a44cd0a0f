"""What the store keeps about reviews of a subject's band: a re-check an app demands, and an
appeal the user opens. Every field here is listed, with its purpose, in the data inventory.

Both name the subject only by its pairwise sid, and live until their deadline has passed and
been acted on (TTL: the deadline plus the time the policy keeps an overdue request in force).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.store.records import about


@dataclass(frozen=True, slots=True)
class RecheckRequest:
    """A re-check an app's trust-and-safety team (or its users' reports) demanded of a subject."""

    sid: str = field(metadata=about("the subject's pairwise pseudonym"))
    client_id: str = field(metadata=about("the app that asked: only it may see or settle the request"))
    reason: str = field(
        metadata=about(
            "why (a code: reported_adult_posing_as_minor, reported_minor_posing_as_adult, moderator_request)"
        )
    )
    min_level: str = field(metadata=about("the level the re-check must establish"))
    requested_at: int = field(metadata=about("when the app asked (epoch seconds)"))
    deadline: int = field(metadata=about("when the re-check must be done (epoch seconds)"))


@dataclass(frozen=True, slots=True)
class Appeal:
    """A user contesting the band on record: open until a stronger method proves another band,
    or its deadline passes."""

    sid: str = field(metadata=about("the subject's pairwise pseudonym"))
    client_id: str = field(metadata=about("the app the subject belongs to"))
    check_id: str = field(metadata=about("the appeal's check (random id)"))
    band: str = field(metadata=about("the band on record when the appeal opened: what it contests"))
    level: str = field(metadata=about("that band's level: an appeal needs a stronger method"))
    opened_at: int = field(metadata=about("when the appeal opened (epoch seconds)"))
    deadline: int = field(metadata=about("when the user gets an answer at the latest (epoch seconds)"))


@dataclass(frozen=True, slots=True)
class GuardianLink:
    """What a guardian confirmed, kept under the link's keyed name (a keyed hash of both sids):
    which side is the child (a keyed hash of its sid, so neither sid is stored), and the band and
    level confirmed, so a later check of the same band keeps the confirmation while it holds."""

    child_ref: str = field(
        metadata=about("a keyed hash of the child's sid: which side of the link is the child")
    )
    band: str = field(metadata=about("the child's band the guardian confirmed"))
    upper_level: str = field(metadata=about("the level the confirmation gives the band's upper edge"))


@dataclass(frozen=True, slots=True)
class GuardianCode:
    """A one-time code shown to a child, for a guardian to confirm the child's band with. Its key
    is a keyed hash of the code, never the code."""

    sid: str = field(metadata=about("the child's pairwise pseudonym"))
    client_id: str = field(metadata=about("the app: only its users may confirm with the code"))
    band: str = field(metadata=about("the child's band when the code was made: what the guardian confirms"))
    issued_at: int = field(metadata=about("when the code was made (epoch seconds)"))


@dataclass(frozen=True, slots=True)
class Connection:
    """A trusted connection between two users of one app, named by a keyed hash of its pair nonce.
    Neither sid is stored: only keyed hashes, which match the parties' tokens but name nobody."""

    client_id: str = field(metadata=about("the app both users belong to"))
    first: str = field(metadata=about("keyed hash of the sid that opened it (it confirmed by opening)"))
    pair: str | None = field(
        metadata=about("keyed hash of both sids once the other side confirmed (null: not yet)")
    )
    opened_at: int = field(metadata=about("when it was opened (epoch seconds)"))
    confirmed_at: int | None = field(metadata=about("when the other side confirmed (epoch seconds)"))
